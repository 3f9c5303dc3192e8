"""The shadow's own process: it checks and scores what the server sends, and sends the outputs back.

A shadow in a process of its own takes no time from `prod`'s answers (no lock
on the interpreter is shared), and a candidate that crashes its process (a
segfault in native code, `os._exit`) ends that process only: the server logs
the lost requests and starts another on the next batch. Processes come from a
forkserver that has imported scikit-learn once, so a new one starts without
importing it again.

What crosses the pipe is pickled: the `ModelVersion` the server already holds
(sent once per process), and the requests' records. Both come from the
server's own memory, never from a file, so this does not widen what a model
file may do (model files are only ever loaded by the store, with skops).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from .. import PACKAGE
from ..store import ModelVersion
from .requests import check_requests

SHADOW_NICENESS = 10


@dataclass(frozen=True)
class Outcome:
    """What became of one request in the shadow: its outputs, or an error and its kind (`contract`, `model`)."""

    outputs: dict[str, list[Any]]
    error: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ShadowResult:
    """The outcome of every request sent, and how long the model call took."""

    outcomes: list[Outcome]
    seconds: float


class ShadowProcessDiedError(RuntimeError):
    """The shadow's process ended while it held requests (the candidate crashed it, or it was killed)."""


def score_requests(loaded: ModelVersion, requests: list[list[dict[str, Any]]]) -> ShadowResult:
    """Check `requests` against the shadow's own contract and score those that pass, in one call."""
    checked = check_requests(requests, loaded.contract)
    started = time.perf_counter()
    outputs: dict[str, list[Any]] = {}
    failure = None
    try:
        scored = loaded.predict(checked.columns) if checked.rows else {}
        wrong = [name for name, values in scored.items() if len(values) != checked.rows]
        if checked.rows and (wrong or "label" not in scored):
            raise ValueError(f"the outputs {wrong or ['label']} do not hold one value per row")
        outputs = {name: values.tolist() for name, values in scored.items()}
    except Exception as exc:  # anything the candidate's model does wrong
        failure = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    seconds = time.perf_counter() - started
    outcomes = []
    for outcome in checked.outcomes:  # prod's contract accepted these rows; the shadow's may not
        if not isinstance(outcome, slice):
            outcomes.append(Outcome({}, f"contract: {outcome}", "contract"))
        elif failure is not None:
            outcomes.append(Outcome({}, failure, "model"))
        else:
            outcomes.append(Outcome({name: values[outcome] for name, values in outputs.items()}))
    return ShadowResult(outcomes, seconds)


def _serve(connection: Connection) -> None:
    """The child's loop: (key, version or None, requests) in, a ShadowResult out, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then ends this process
    _yield_to_prod()
    versions: dict[str, ModelVersion] = {}
    while True:
        try:
            key, loaded, requests = connection.recv()
        except (EOFError, OSError):
            return
        if loaded is not None:
            versions = {key: loaded}  # one candidate at a time: a new one replaces the old
        connection.send(score_requests(versions[key], requests))


def _yield_to_prod() -> None:
    """Lower this process's priority, so that the kernel runs the server first whenever both want the CPU.

    At niceness SHADOW_NICENESS the shadow gets about a tenth of a core that
    the server wants whole: a busy server slows its shadow (whose queue then
    drops and counts), never the reverse.
    """
    os.nice(SHADOW_NICENESS)


class ShadowProcess:
    """One child process and the pipe to it; `score` blocks (call it from a thread)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("forkserver")
        # The forkserver imports these once (scikit-learn with `modeling.predict`); each child forks from it.
        context.set_forkserver_preload([f"{PACKAGE}.serving.shadow_process", f"{PACKAGE}.modeling.predict"])
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), name="shadow", daemon=True)
        self.process.start()
        child.close()  # the child's end lives in the child only: its death closes the pipe
        self.sent: str | None = None  # the key of the version the child holds

    def score(self, key: str, loaded: ModelVersion, requests: list[list[dict[str, Any]]]) -> ShadowResult:
        """Send `requests` (and `loaded`, the first time this key is sent) and wait for the result."""
        try:
            self.connection.send((key, None if self.sent == key else loaded, requests))
            self.sent = key
            return self.connection.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.process.join(timeout=1)
            raise ShadowProcessDiedError(f"the shadow's process died (exit code {self.process.exitcode})") from None

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self.process.is_alive()

    def stop(self) -> None:
        """End the child at once (a shadow never delays a shutdown)."""
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
