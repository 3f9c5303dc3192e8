"""The server under load: 10,000 requests from 32 clients, a shadow and a canary at that rate, a reload (`make test-load`).

The servers are the unit tests' (tests/unit/serving), with the same bundles: prod v0.3.0, candidate v0.4.0.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lockstep.contract.prediction_log import read_predictions
from lockstep.data.prepare import PreparedData
from lockstep.registry.store import ModelVersion, load_version
from lockstep.serving.app import create_app

from tests.http_client import Client, free_port, running, wait_ready
from tests.unit.serving.test_api import records
from tests.unit.serving.test_rollout_serving import Raising, Sleeping, fire, keyed, metric, table
from tests.unit.serving.test_routing import binomial_interval
from tests.unit.serving.test_serve_faults import serve_process, valid_prediction
from tests.unit.serving.test_shadow import SHADOW_SCORED, send_buffer, wait_for


def test_ten_thousand_requests_from_32_clients_all_succeed(
    bundle: Path, prepared: PreparedData, tmp_path: Path
) -> None:
    payloads = records(prepared.test.head(500))
    with running(create_app(load_version(str(bundle)), tmp_path / "log.jsonl")) as base:

        def client_run(client_index: int) -> list[bool]:
            client = Client(base)
            results = []
            for i in range(client_index, 10_000, 32):
                status, body, _ = client.request("POST", "/v1/predict", payloads[i % len(payloads)])
                results.append(valid_prediction(status, body) and body["model_version"] == "v0.3.0")
            client.close()
            return results

        with ThreadPoolExecutor(32) as pool:
            outcomes = [ok for results in pool.map(client_run, range(32)) for ok in results]
    assert len(outcomes) == 10_000
    assert all(outcomes)


@pytest.fixture(scope="module")
def prod_only_answers(prod: ModelVersion, payloads: list[dict], tmp_path_factory: pytest.TempPathFactory) -> list:
    with running(create_app(prod, tmp_path_factory.mktemp("prod-only") / "predictions.jsonl")) as base:
        return fire(base, [payloads[i % len(payloads)] for i in range(10_000)])


@pytest.mark.parametrize("shadow_model", [None, Raising, Sleeping], ids=["shadow", "raising", "sleeping"])
def test_shadow_answers_are_byte_identical_to_a_prod_only_server(
    prod: ModelVersion,
    candidate: ModelVersion,
    payloads: list[dict],
    prod_only_answers: list,
    shadow_model: Callable[[Any], Any] | None,
    tmp_path: Path,
) -> None:
    shadow = (
        dataclasses.replace(candidate, model=shadow_model(candidate.model), scorer=shadow_model(candidate.scorer))
        if shadow_model
        else candidate
    )
    app = create_app(table(prod, shadow, mode="shadow", shadow_queue=100), tmp_path / "predictions.jsonl")
    with running(app) as base:
        started = time.perf_counter()
        answers = fire(base, [payloads[i % len(payloads)] for i in range(10_000)])
        elapsed = time.perf_counter() - started
        dropped, errors = metric(base, "shadow_dropped_total"), metric(base, "shadow_errors_total")
    assert [(status, body) for status, body, _ in answers] == [(status, body) for status, body, _ in prod_only_answers]
    assert all(headers["x-model-arm"] == "prod" for _, _, headers in answers)
    if shadow_model is Raising:
        assert errors > 0
    if (
        shadow_model is Sleeping
    ):  # a second per batch of at most 100 queued requests; the rest dropped, never waited for
        assert dropped >= 10_000 - 100 * (elapsed + 2)
    assert errors == 0 or shadow_model is Raising


@contextlib.contextmanager
def serve(bundle: Path, rollout: Path, port: int, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`lockstep serve --model bundle --rollout rollout` in a process of its own: its URL and the process."""
    process = serve_process(bundle, port, log, "--rollout", str(rollout))
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.mark.parametrize(("rows", "requests"), [(1, 1_000), (600, 120)], ids=["one-row", "larger-than-the-pipe"])
def test_a_shadow_on_uvloop_at_8_clients_scores_every_request_and_counts_no_crash(
    bundle: Path, candidate_bundle: Path, payloads: list[dict], tmp_path: Path, rows: int, requests: int
) -> None:
    """`lockstep serve` in shadow mode as the README runs it (uvloop, the default queue), driven by 8 clients.

    The byte-identical test above never reached a failing pipe: its bodies are one record and its queue 100, so a
    batch stayed under ~50 KB, below the socket's send buffer (~208 KB), and no send ever had to wait. Here the
    one-row case is the issue's (1,000 requests, 8 clients), and the other sends bodies larger than that buffer,
    so every batch must wait for the shadow's process to read it. Before, the first stalled (the shadow scored
    nothing after its first failed send) and the second counted 112 of its 121 requests as crashes.
    """
    rollout = tmp_path / "shadow.yaml"
    rollout.write_text(f"mode: shadow\ncandidate: {candidate_bundle}\n")
    bodies = [keyed(payloads, requests * rows)[i * rows : (i + 1) * rows] for i in range(requests)]
    if rows > 1:
        assert min(len(json.dumps(body)) for body in bodies) > send_buffer()
    with serve(bundle, rollout, free_port(), tmp_path / "predictions.jsonl") as (base, _):
        assert Client(base).request("POST", "/v1/predict", payloads[0])[0] == 200
        wait_for(lambda: metric(base, SHADOW_SCORED) == 1, "the shadow scored its first request")  # it runs
        answers = fire(base, bodies, clients=8)
        accounted = lambda: metric(base, SHADOW_SCORED) + metric(base, "shadow_dropped_total")  # noqa: E731
        wait_for(lambda: accounted() >= requests + 1, f"the shadow scored or dropped all {requests + 1} requests")
        counts = [metric(base, name) for name in (SHADOW_SCORED, "shadow_dropped_total", "shadow_errors_total")]
    assert [status for status, _, _ in answers] == [200] * requests
    assert counts == [requests + 1, 0, 0]  # the queue (1,000) holds them all: none need be dropped
    shadow = [line.error for line in read_predictions(tmp_path) if not line.served]
    assert shadow == [None] * (requests + 1)


def test_a_canary_at_10_percent_is_in_its_binomial_interval_and_each_user_keeps_its_arm_across_a_restart(
    bundle: Path, candidate_bundle: Path, payloads: list[dict], tmp_path: Path
) -> None:
    rollout = tmp_path / "canary.yaml"
    rollout.write_text(f"mode: canary\npercent: 10\nsticky_key: loan_id\ncandidate: {candidate_bundle}\n")
    users = keyed(payloads, 10_000)
    arms = []
    for run in range(2):  # two processes: Python's own hash() would differ between them
        with serve(bundle, rollout, free_port(), tmp_path / f"run{run}.jsonl") as (base, _):
            answers = fire(base, users)
            assert all(status == 200 for status, _, _ in answers)
            arms.append([headers["x-model-arm"] for _, _, headers in answers])
    low, high = binomial_interval(10_000, 0.1)
    assert low <= arms[0].count("canary") <= high
    assert arms[1] == arms[0]


# A server process of its own, reloaded: 10 to 25 s here, over `make test`'s budget per test.
def test_sighup_rereads_the_rollout_file_and_a_bad_one_changes_nothing(
    bundle: Path, candidate_bundle: Path, payloads: list[dict], tmp_path: Path
) -> None:
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text("mode: none\n")
    with serve(bundle, rollout, free_port(), tmp_path / "predictions.jsonl") as (base, process):
        client = Client(base)
        assert client.request("POST", "/v1/predict", payloads[0])[1]["arm"] == "prod"
        rollout.write_text("mode: canary\npercent: [\n")  # not YAML: logged, and the table stays
        process.send_signal(signal.SIGHUP)
        rollout.write_text(f"mode: canary\npercent: 100\ncandidate: {candidate_bundle}\n")
        time.sleep(0.5)
        process.send_signal(signal.SIGHUP)
        deadline, arm = time.monotonic() + 30, "prod"
        while arm == "prod" and time.monotonic() < deadline:
            time.sleep(0.1)
            arm = client.request("POST", "/v1/predict", payloads[0])[1]["arm"]
        assert arm == "canary"
