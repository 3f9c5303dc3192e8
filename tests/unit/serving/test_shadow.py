"""The shadow: logged, counted, never answering, and whole under load (issue 19).

The servers run as the load tests' do, on uvloop (uvicorn picks it, as `lockstep serve` does). uvloop leaves a pipe
non-blocking once the loop has watched it, so a batch larger than the socket's send buffer is the case that broke the
shadow: every test below that sends one says so by checking its size against the buffer. Each waits for what it
checks with a generous timeout (a loaded machine starts the shadow's forkserver in tens of seconds), never for a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import uvloop

from lockstep.contract.prediction_log import read_predictions
from lockstep.modeling.predict import predict_frame
from lockstep.registry.store import ModelVersion
from lockstep.serving import shadow_process
from lockstep.serving.app import create_app
from lockstep.serving.observe import Metrics
from lockstep.serving.prediction_log import PredictionLog
from lockstep.serving.shadow import ShadowScorer
from lockstep.serving.shadow_process import ShadowJob, ShadowProcess, score_jobs

from tests.conftest import PACKAGE
from tests.http_client import Client, running
from tests.unit.serving.test_rollout_serving import Raising, keyed, metric, table

# Seconds to wait for the shadow: its first batch starts a forkserver that imports scikit-learn.
WAIT = 180
SHADOW_SCORED = 'arm_requests_total{arm="shadow",model_version="v0.4.0"}'


class Crashing(Raising):
    """A model that ends its process on every call, as a segfault in native code would."""

    def predict_proba(self, features: pd.DataFrame) -> Any:
        os._exit(70)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Return once `condition()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


async def wait_in_loop(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """`wait_for`, from inside the event loop that makes `condition` true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.02)


def send_buffer() -> int:
    """The bytes a socket pair takes before a send has to wait: the kernel's default send buffer."""
    left, right = socket.socketpair()
    with left, right:
        return left.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)


def jobs_of(records: list[dict], count: int, rows: int = 1) -> list[ShadowJob]:
    """`count` /v1/predict jobs of `rows` records each, as the server hands them to the shadow."""
    jobs = []
    for i in range(count):
        body = [records[(i * rows + j) % len(records)] for j in range(rows)]
        ids = [record["loan_id"] for record in body]
        jobs.append(ShadowJob(json.dumps(body).encode(), "v1", ids, f"r{i}", time.time(), 5.0))
    return jobs


def test_a_shadow_is_logged_with_its_answers_and_never_answers(
    prod: ModelVersion, candidate: ModelVersion, payloads: list[dict], tmp_path: Path
) -> None:
    with running(create_app(table(prod, candidate, mode="shadow"), tmp_path / "predictions.jsonl")) as base:
        answers = [
            Client(base).request("POST", "/v1/predict", payloads[:3], {"x-request-id": f"r{i}"}) for i in range(5)
        ]
        wait_for(lambda: metric(base, SHADOW_SCORED) == 5, "the shadow scored the 5 requests")
    assert {(body["arm"], body["model_version"]) for _, body, _ in answers} == {("prod", "v0.3.0")}
    lines = list(read_predictions(tmp_path))
    shadow = [line for line in lines if not line.served]
    assert sorted(line.request_id for line in shadow) == [f"r{i}" for i in range(5)]
    expected = predict_frame(candidate.model, pd.DataFrame(payloads[:3]), candidate.contract)
    for line in shadow:
        assert (line.arm, line.model_version, line.error) == ("shadow", "v0.4.0", None)
        assert line.ids == [p["loan_id"] for p in payloads[:3]]
        assert line.outputs["score"] == expected["score"].tolist()
    assert {line.arm for line in lines if line.served} == {"prod"}


def test_a_shadow_that_raises_is_logged_and_counted_and_the_answers_stand(
    prod: ModelVersion, candidate: ModelVersion, payloads: list[dict], tmp_path: Path
) -> None:
    broken = dataclasses.replace(candidate, model=Raising(candidate.model), scorer=Raising(candidate.scorer))
    with running(create_app(table(prod, broken, mode="shadow"), tmp_path / "predictions.jsonl")) as base:
        answers = [Client(base).request("POST", "/v1/predict", payloads[i]) for i in range(20)]
        wait_for(lambda: metric(base, "shadow_errors_total") >= 20, "the shadow counted 20 errors")
        assert metric(base, "shadow_errors_total") == metric(base, 'shadow_errors_total{kind="model"}') == 20
    assert all(status == 200 and body["arm"] == "prod" for status, body, _ in answers)
    shadow = [line for line in read_predictions(tmp_path) if not line.served]
    assert len(shadow) == 20
    assert {(line.error, str(line.outputs)) for line in shadow} == {("RuntimeError: the candidate is broken", "{}")}


def test_the_shadow_process_logs_each_request_with_its_outputs_or_why_not(
    candidate: ModelVersion, payloads: list[dict], tmp_path: Path
) -> None:
    """`score_jobs`, what the shadow's process runs per batch, called in process."""
    bad = payloads[1] | {"age": 17}
    bodies = [json.dumps(payloads[0]), json.dumps([bad, payloads[2]]), json.dumps(payloads[3])]
    jobs = [ShadowJob(body.encode(), "v1", [f"r{i}:0"], f"r{i}", time.time(), 5.0) for i, body in enumerate(bodies)]
    broken = dataclasses.replace(candidate, model=Raising(candidate.model), scorer=Raising(candidate.scorer))
    for loaded, folder in ((candidate, tmp_path / "ok"), (broken, tmp_path / "broken")):
        log = PredictionLog(folder / "predictions.shadow.jsonl", background=False)
        result = score_jobs(loaded, jobs, log)
        log.close()
        lines = list(read_predictions(folder))
        assert [line.request_id for line in lines] == ["r0", "r1", "r2"]
        assert {(line.arm, line.served) for line in lines} == {("shadow", False)}
        kinds = [outcome.kind for outcome in result.outcomes]
        if loaded is candidate:
            expected = predict_frame(candidate.model, pd.DataFrame([payloads[0], payloads[3]]), candidate.contract)
            assert kinds == [None, "contract", None]
            assert [lines[0].outputs["score"][0], lines[2].outputs["score"][0]] == expected["score"].tolist()
        else:
            assert kinds == ["model", "contract", "model"]
            assert lines[0].error == "RuntimeError: the candidate is broken"
        assert lines[1].error.startswith("contract: age: 17 is below the minimum")
        assert lines[1].outputs == {}


def test_a_shadow_that_crashes_its_process_loses_only_its_own_lines(
    prod: ModelVersion, candidate: ModelVersion, payloads: list[dict], tmp_path: Path
) -> None:
    crashing = dataclasses.replace(candidate, model=Crashing(candidate.model), scorer=Crashing(candidate.scorer))
    with running(create_app(table(prod, crashing, mode="shadow"), tmp_path / "predictions.jsonl")) as base:
        answers = []
        for i in range(6):  # apart, so that each batch is one request and starts a new process
            answers.append(Client(base).request("POST", "/v1/predict", payloads[i]))
            wait_for(lambda i=i: metric(base, "shadow_errors_total") >= i + 1, f"the shadow counted crash {i + 1}")
        crashes = metric(base, 'shadow_errors_total{kind="crash"}')
    assert crashes == 6
    assert [(status, body["arm"]) for status, body, _ in answers] == [(200, "prod")] * 6
    shadow = [line for line in read_predictions(tmp_path) if not line.served]
    assert [line.error for line in shadow] == ["the shadow's process died (exit code 70)"] * 6


def test_a_batch_larger_than_the_pipe_crosses_it_whole_under_uvloop(
    candidate: ModelVersion, payloads: list[dict], tmp_path: Path
) -> None:
    """Once uvloop has watched the pipe it is non-blocking: a large send must wait for the child, not fail.

    It failed with BlockingIOError, which was taken for the process's death ("exit code None").
    """
    jobs = jobs_of(keyed(payloads, 200), 30, rows=100)
    assert sum(len(job.body) for job in jobs) > 4 * send_buffer()

    async def score_in_turn() -> list[list[str | None]]:
        process = ShadowProcess(tmp_path / "predictions.shadow.jsonl")
        try:  # the first, small, batch makes the loop watch the pipe
            return [
                [outcome.kind for outcome in (await process.score("v", candidate, batch)).outcomes]
                for batch in (jobs[:1], jobs, jobs)
            ]
        finally:
            process.stop()

    assert uvloop.run(score_in_turn()) == [[None], [None] * 30, [None] * 30]


def test_a_server_shadows_every_request_when_its_batches_overfill_the_pipe(
    prod: ModelVersion, candidate: ModelVersion, payloads: list[dict], tmp_path: Path
) -> None:
    """8 clients, each request larger than the pipe's buffer: none crashes, none is dropped, and the shadow goes on.

    Before, the first such batch was counted as a crash of a live process, and the shadow then scored nothing.
    """
    body = keyed(payloads, 600)
    assert len(json.dumps(body)) > send_buffer()
    app = create_app(table(prod, candidate, mode="shadow"), tmp_path / "predictions.jsonl")
    with running(app) as base:

        def client_run(_: int) -> list[int]:
            client = Client(base, timeout=120)
            statuses = [client.request("POST", "/v1/predict", body)[0] for _ in range(3)]
            client.close()
            return statuses

        with ThreadPoolExecutor(8) as pool:
            statuses = [status for run in pool.map(client_run, range(8)) for status in run]
        accounted = lambda: metric(base, SHADOW_SCORED) + metric(base, "shadow_dropped_total")  # noqa: E731
        wait_for(lambda: accounted() >= 24, "the shadow scored or dropped all 24 requests")
        assert Client(base).request("POST", "/v1/predict", payloads[0])[0] == 200
        wait_for(lambda: accounted() >= 25, "the shadow scored a request after them")
        assert (metric(base, "shadow_errors_total"), metric(base, "shadow_dropped_total")) == (0, 0)
    assert statuses == [200] * 24
    shadow = [line for line in read_predictions(tmp_path) if not line.served]
    assert len(shadow) == 25
    assert {line.error for line in shadow} == {None}


def test_a_pipe_that_fails_while_its_process_runs_drops_the_batch_and_a_dead_process_is_replaced(
    candidate: ModelVersion, payloads: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError on the pipe is a crash only if the process has ended; otherwise the batch is dropped and counted.

    Either way the next batch is scored, by a new process.
    """
    monkeypatch.setattr(shadow_process, "EXIT_SECONDS", 1)  # how long a closed pipe waits for the exit; it never comes
    jobs = jobs_of(keyed(payloads, 10), 4)
    log = PredictionLog(tmp_path / "predictions.jsonl", background=False)

    async def run() -> tuple[list[float | None], bool]:
        metrics = Metrics()
        scorer = ShadowScorer(metrics, log, tmp_path / "predictions.shadow.jsonl")
        value = lambda name, **labels: metrics.registry.get_sample_value(f"{PACKAGE}_{name}", labels)  # noqa: E731
        scored = lambda: value("arm_requests_total", arm="shadow", model_version="v0.4.0") or 0  # noqa: E731
        scorer.start()
        try:
            scorer.offer(candidate, jobs[0], 10)
            await wait_in_loop(lambda: scored() == 1, "the first request scored")
            first = scorer.process
            assert first is not None
            real, (broken, peer) = first.channel, socket.socketpair()
            peer.close()  # writing to `broken` fails (EPIPE) while the process runs on
            broken.setblocking(False)
            first.channel = broken
            scorer.offer(candidate, jobs[1], 10)
            await wait_in_loop(lambda: value("shadow_dropped_total") == 1, "the batch dropped")
            real.close()
            scorer.offer(candidate, jobs[2], 10)
            await wait_in_loop(lambda: scored() == 2, "the next request scored")
            second = scorer.process
            assert second is not None
            assert second is not first
            os.kill(second.process.pid, signal.SIGKILL)  # between batches: found dead before the next
            await asyncio.to_thread(second.process.join, WAIT)
            scorer.offer(candidate, jobs[3], 10)
            await wait_in_loop(lambda: scored() == 3, "the request after the kill scored")
            replaced = scorer.process is not second and not first.alive()
            return [value("shadow_errors_total", kind=kind) for kind in ("crash", "model", "contract")], replaced
        finally:
            await scorer.stop()

    errors, replaced = uvloop.run(run())
    log.close()
    assert errors == [None, None, None]
    assert replaced
    assert sorted(line.request_id for line in read_predictions(tmp_path)) == ["r0", "r2", "r3"]
