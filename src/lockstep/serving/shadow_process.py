"""The shadow's own process: it decodes, checks, scores and logs what the server hands it.

The server's part of a shadow is a few microseconds per request: it queues the
request's body and sends batches down a pipe. Everything else happens here, in
a process of its own at the lowest priority (niceness 19, once it has loaded
its model): decoding the body, the contract's checks, the model call, and the
log line, written to a log of its own (`predictions.shadow.jsonl` next to
`predictions.jsonl`; readers read both). So a running shadow takes no time
from `prod` that the kernel could give `prod`, never holds the server's
interpreter, and one that crashes this
process (a segfault in native code, `os._exit`) loses only the requests it
held; the server logs those and starts another process on the next batch.
A crash is only ever a process that has ended: a pipe that fails while its
process runs loses the batch (dropped and counted, not the candidate's
fault), and the next batch goes to a new process too. Processes come from a
forkserver that has imported scikit-learn once.

What crosses the pipe is pickled: the `ModelVersion` the server already holds
(sent once per process) and the requests' bodies, both from the server's own
memory, never from a file; model files are only ever loaded by the store.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .. import PACKAGE
from ..contract.model_contract import ModelContract
from ..contract.prediction_log import PredictionRecord
from ..registry.store import ModelVersion
from .prediction_log import PredictionLog
from .requests import BadRequestError, check_requests, decode, records_from_v1, records_from_v2

SHADOW = "shadow"
SHADOW_NICENESS = 19  # the kernel runs the server first whenever both want the CPU
FRAME = struct.Struct("!Q")  # a message on the pipe: its length in bytes, then its pickle
# How long a pipe that closed waits for the process to be reported ended (a loaded machine takes seconds).
EXIT_SECONDS = 30


@dataclass(frozen=True)
class ShadowJob:
    """One request as the shadow needs it: the body `prod` accepted, and the ids `prod` logged for its rows."""

    body: bytes
    protocol: str  # "v1" (/v1/predict) or "v2" (the Open Inference Protocol)
    ids: list[Any]  # the id column's values, or `<request_id>:<i>`
    request_id: str
    arrived: float  # time.time() when the request came
    budget_ms: float

    def records(self, contract: ModelContract) -> list[dict[str, Any]]:
        """The body's records, read against the shadow's contract (a BadRequestError if they do not fit it)."""
        document = decode(self.body)
        return records_from_v1(document) if self.protocol == "v1" else records_from_v2(document, contract)


@dataclass(frozen=True)
class JobOutcome:
    """What the server counts of one request: its latency, its error kind (None: scored), its scores and labels."""

    latency: float
    kind: str | None
    scores: list[float] | None = None
    labels: list[Any] | None = None


@dataclass(frozen=True)
class ShadowResult:
    """The outcome of every request sent, and how long the model call took."""

    outcomes: list[JobOutcome]
    seconds: float


class ShadowProcessDiedError(RuntimeError):
    """The shadow's process ended while it held requests (the candidate crashed it, or it was killed)."""


class ShadowPipeError(RuntimeError):
    """The pipe to the shadow's process failed while the process runs: the batch is lost, not the candidate's fault."""


def score_jobs(loaded: ModelVersion, jobs: list[ShadowJob], log: PredictionLog) -> ShadowResult:
    """Decode, check and score `jobs` against the shadow's own contract in one model call; log a line per job."""
    errors: dict[int, tuple[str, str]] = {}
    decoded: dict[int, list[dict[str, Any]]] = {}
    for index, job in enumerate(jobs):
        try:  # prod's contract accepted these rows; the shadow's may not
            decoded[index] = job.records(loaded.contract)
        except BadRequestError as exc:
            errors[index] = (f"contract: {exc}", "contract")
    checked = check_requests(list(decoded.values()), loaded.contract)
    rows = dict(zip(decoded, checked.outcomes, strict=True))
    errors |= {i: (f"contract: {rows[i]}", "contract") for i in decoded if isinstance(rows[i], BadRequestError)}
    started = time.perf_counter()
    outputs: dict[str, list[Any]] = {}
    try:
        scored = loaded.predict(checked.columns) if checked.rows else {}
        wrong = [name for name, values in scored.items() if len(values) != checked.rows]
        if checked.rows and (wrong or "label" not in scored):
            raise ValueError(f"the outputs {wrong or ['label']} do not hold one value per row")
        outputs = {name: values.tolist() for name, values in scored.items()}
    except Exception as exc:  # anything the candidate's model does wrong
        failure = (f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", "model")
        errors |= {index: failure for index in decoded if index not in errors}
    seconds = time.perf_counter() - started
    outcomes = []
    for index, job in enumerate(jobs):
        out = {} if index in errors else {name: values[rows[index]] for name, values in outputs.items()}
        error, kind = errors.get(index, (None, None))
        outcomes.append(_log(log, loaded, job, decoded.get(index, []), out, error, kind))
    return ShadowResult(outcomes, seconds)


def _log(
    log: PredictionLog,
    loaded: ModelVersion,
    job: ShadowJob,
    records: list[dict[str, Any]],
    outputs: dict[str, list[Any]],
    error: str | None,
    kind: str | None,
) -> JobOutcome:
    latency = time.time() - job.arrived
    log.write(shadow_record(loaded, job, records, outputs, latency, error))
    return JobOutcome(latency, kind, outputs.get("score"), outputs.get("label"))


def shadow_record(
    loaded: ModelVersion,
    job: ShadowJob,
    records: list[dict[str, Any]],
    outputs: dict[str, list[Any]],
    latency: float,
    error: str | None,
) -> PredictionRecord:
    """The log line of one request the shadow scored (or failed to: then `error`, and no outputs)."""
    return PredictionRecord(
        request_id=job.request_id,
        time=time.time(),
        arm=SHADOW,
        served=False,
        model_version=loaded.version,
        model_sha256=loaded.sha256,
        ids=job.ids,
        inputs=records,
        outputs=outputs,
        latency_ms=round(latency * 1000, 3),
        error=error,
    )


def _serve(channel: socket.socket, log_path: Path) -> None:
    """The child's loop: (key, version or None, jobs) in, a ShadowResult out, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which then ends this process
    log = PredictionLog(log_path, background=False)  # each line is on disk before the server hears of it
    stream = channel.makefile("rwb")  # blocking: this process has nothing else to do meanwhile
    versions: dict[str, ModelVersion] = {}
    niced = False
    while True:
        try:
            key, loaded, jobs = pickle.loads(_read_frame(stream))
        except (EOFError, OSError):
            log.close()
            return
        if loaded is not None:
            versions = {key: loaded}  # one candidate at a time: a new one replaces the old
        if not niced:  # after the first message: its model's modules (~1,000, a second) imported at the server's
            os.nice(SHADOW_NICENESS)  # priority, like the forkserver's; at niceness 19 a busy machine takes a minute
            niced = True
        result = pickle.dumps(score_jobs(versions[key], jobs, log), protocol=pickle.HIGHEST_PROTOCOL)
        stream.write(FRAME.pack(len(result)))
        stream.write(result)
        stream.flush()


def _read_frame(stream: BinaryIO) -> bytes:
    """One message from a blocking stream; EOFError if the stream ends before it does."""
    header = stream.read(FRAME.size)
    size = FRAME.unpack(header)[0] if len(header) == FRAME.size else -1
    message = stream.read(size) if size >= 0 else b""
    if len(message) != size:
        raise EOFError("the pipe closed inside a message")
    return message


async def _receive(channel: socket.socket, size: int) -> bytearray:
    """Exactly `size` bytes from a non-blocking socket, waiting in the event loop for each part."""
    loop = asyncio.get_running_loop()
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = await loop.sock_recv_into(channel, view[done:])
        if got == 0:
            raise EOFError("the shadow's process closed the pipe")
        done += got
    return buffer


class ShadowProcess:
    """One child process and the pipe to it: a socket pair, read and written from the server's event loop.

    Each message is a length (`FRAME`) and a pickle. The server's end is
    non-blocking, and every read and write waits for the socket in the event
    loop: a batch larger than the socket's buffer is sent as the child reads
    it, and a result is read as it arrives. (A `multiprocessing.Connection`
    assumes a blocking pipe; uvloop leaves a watched one non-blocking, and a
    large send then failed half-way with BlockingIOError.)
    """

    def __init__(self, log_path: Path) -> None:
        context = multiprocessing.get_context("forkserver")
        # The forkserver imports these once (scikit-learn with `modeling.predict`); each child forks from it.
        context.set_forkserver_preload([f"{PACKAGE}.serving.shadow_process", f"{PACKAGE}.modeling.predict"])
        self.channel, child = socket.socketpair()
        self.process = context.Process(target=_serve, args=(child, log_path), name="shadow", daemon=True)
        self.process.start()
        child.close()  # the child's end lives in the child only: its death closes the pipe
        self.channel.setblocking(False)
        self.sent: str | None = None  # the key of the version the child holds
        self.intact = True  # False once a message was cut off: the pipe no longer splits into messages

    async def score(self, key: str, loaded: ModelVersion, jobs: list[ShadowJob]) -> ShadowResult:
        """Send `jobs` (and `loaded`, the first time this key is sent) and wait for the result.

        Both ends of the pipe are used from the event loop (the waits are on the
        socket's readiness): a thread would have to take the interpreter's lock
        back from the request handlers to read the result, which delays
        requests by up to the lock's switch interval (5 ms).

        Raises ShadowProcessDiedError if the process has ended, and
        ShadowPipeError if the pipe failed while it runs; after either, this
        process takes no more batches (`usable()` is False).
        """
        loop = asyncio.get_running_loop()
        message = pickle.dumps((key, None if self.sent == key else loaded, jobs), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            await loop.sock_sendall(self.channel, FRAME.pack(len(message)) + message)
            self.sent = key
            size = FRAME.unpack(await _receive(self.channel, FRAME.size))[0]
            return pickle.loads(await _receive(self.channel, size))
        except (EOFError, OSError) as exc:
            self.intact = False
            await self._wait_for_exit(exc)
            if self.process.exitcode is None:
                raise ShadowPipeError(f"the pipe to the shadow's process failed while it runs: {exc!r}") from exc
            raise ShadowProcessDiedError(f"the shadow's process died (exit code {self.process.exitcode})") from None

    async def _wait_for_exit(self, error: BaseException) -> None:
        """After `error`, wait for the process to end if the error says its end of the pipe closed (it exits)."""
        closed = isinstance(error, EOFError | BrokenPipeError | ConnectionResetError)
        # Off the event loop: on a loaded machine the exit can take seconds to be reported.
        await asyncio.to_thread(self.process.join, EXIT_SECONDS if closed else 0)

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self.process.is_alive()

    def usable(self) -> bool:
        """Whether the next batch can go to this process: it runs, and its pipe is whole."""
        return self.intact and self.alive()

    def stop(self) -> None:
        """End the child at once (a shadow never delays a shutdown; its lines are on disk already)."""
        self.channel.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
