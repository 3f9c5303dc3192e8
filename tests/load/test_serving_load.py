"""The server under load: 10,000 requests from 32 clients, a shadow and a canary at that rate, a reload (`make test-load`).

The servers are the unit tests' (tests/unit/serving), with the same bundles: prod v0.3.0, candidate v0.4.0.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lockstep.data.prepare import PreparedData
from lockstep.registry.store import ModelVersion, load_version
from lockstep.serving.app import create_app

from tests.http_client import Client, free_port, running, wait_ready
from tests.unit.serving.test_api import records
from tests.unit.serving.test_rollout_serving import Raising, Sleeping, fire, keyed, metric, table
from tests.unit.serving.test_routing import binomial_interval
from tests.unit.serving.test_serve_faults import serve_process, valid_prediction


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
