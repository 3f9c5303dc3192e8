"""The server under a hot swap, at shutdown, on a model that fails verification, a failing model and stalled clients."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sklearn.pipeline import Pipeline

from lockstep.contract.model_contract import ModelContract
from lockstep.contract.prediction_log import log_lines
from lockstep.data.prepare import PreparedData
from lockstep.registry.store import ModelVersion, load_version
from lockstep.serving.app import create_app
from lockstep.serving.server import server_config

from tests.conftest import PACKAGE, VENV_BIN, tool_env
from tests.http_client import Client, free_port, running, wait_ready
from tests.unit.conftest import make_bundle
from tests.unit.serving.test_api import records

TOKEN = "s3cret-token"


def valid_prediction(status: int, body: dict) -> bool:
    predictions = body.get("predictions", []) if status == 200 else []
    return bool(predictions) and all(0 <= p["score"] <= 1 and p["label"] in (0, 1) for p in predictions)


def test_a_hot_swap_under_load_drops_nothing_and_each_answer_names_its_version(
    bundle: Path, trained: Pipeline, contract: ModelContract, prepared: PreparedData, tmp_path: Path
) -> None:
    newer = make_bundle(tmp_path, trained, contract, "v0.4.0")
    payloads = records(prepared.test.head(50))
    app = create_app(load_version(str(bundle)), tmp_path / "log.jsonl", admin_token=TOKEN)
    with running(app) as base:
        swapped = threading.Event()

        def client_run(_: int) -> list[str]:
            client, versions = Client(base), []
            deadline = time.monotonic() + 300  # a swap that never takes fails below, and never hangs the run
            while (len(versions) < 40 or not swapped.is_set() or versions[-1] != "v0.4.0") and (
                time.monotonic() < deadline
            ):
                status, body, _ = client.request("POST", "/v1/predict", payloads[len(versions) % 50])
                assert valid_prediction(status, body), body
                versions.append(body["model_version"])
            return versions

        admin = Client(base)
        auth = {"authorization": f"Bearer {TOKEN}"}
        with ThreadPoolExecutor(8) as pool:
            running_clients = pool.map(client_run, range(8))
            time.sleep(0.5)
            try:  # however the swap ends, the clients stop: a failed assertion must not leave them looping
                assert (
                    admin.request("POST", "/admin/model", {"model": str(newer)}, {"authorization": "Bearer wrong"})[0]
                    == 401
                )
                status, body, _ = admin.request("POST", "/admin/model", {"model": str(tmp_path / "nothing")}, auth)
                assert (status, body["errors"][0]["rule"]) == (422, "verification")
                status, body, _ = admin.request("POST", "/admin/model", {"model": str(newer)}, auth)
                assert (status, body["model_version"], body["previous"]) == (200, "v0.4.0", "v0.3.0")
            finally:
                swapped.set()
            sequences = list(running_clients)
    for versions in sequences:
        assert set(versions) <= {"v0.3.0", "v0.4.0"}
        switched = versions.index("v0.4.0")
        assert set(versions[switched:]) == {"v0.4.0"}  # never back to the old model


def serve_process(model: Path, port: int, log: Path, *options: str) -> subprocess.Popen:
    """`lockstep serve` through the console script (pinned numerics, as in the image), with more `options`."""
    return subprocess.Popen(
        [
            str(VENV_BIN / "lockstep"),
            "serve",
            *("--model", str(model), "--port", str(port), "--prediction-log", str(log)),
            *options,
        ],
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sigterm_answers_every_request_in_flight(bundle: Path, prepared: PreparedData, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "log.jsonl"
    process = serve_process(bundle, port, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        big = records(prepared.test.head(1_000))
        clients = [Client(f"http://127.0.0.1:{port}") for _ in range(6)]
        import json

        for client in clients:  # all sent before the signal; their answers are read after it
            client.connection.request(
                "POST", "/v1/predict", body=json.dumps(big), headers={"content-type": "application/json"}
            )
        time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        statuses = [client.connection.getresponse().status for client in clients]
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    finally:
        process.kill()
    assert statuses == [200] * 6
    assert len(list(log_lines(log.parent, "log"))) == 6  # the log was flushed before exit


def test_the_server_refuses_to_start_on_a_model_that_fails_verification(bundle: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "bundle"
    shutil.copytree(bundle, tampered)
    (tampered / "contract.json").write_text((tampered / "contract.json").read_text().replace("0.5", "0.1"))
    process = serve_process(tampered, free_port(), tmp_path / "log.jsonl")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "contract.json does not match the bundle's manifest" in output


class _Broken:
    """A scorer that raises on every call, as a model with a bug would."""

    def __init__(self, scorer: object) -> None:
        self.classes_ = scorer.classes_

    def predict_proba(self, features: object) -> None:
        raise RuntimeError("the model is broken")


def test_a_server_error_is_a_json_500_and_counted_by_endpoint(
    bundle: Path, prepared: PreparedData, tmp_path: Path
) -> None:
    """Before: a plain-text 500 from Starlette, and no 5xx series in /metrics (the wrapper caught only 4xx)."""
    broken = load_version(str(bundle))
    broken = dataclasses.replace(broken, scorer=_Broken(broken.scorer))
    with running(create_app(broken, tmp_path / "log.jsonl")) as base:
        client = Client(base)
        metrics = client.request("GET", "/metrics")[1]
        # Every endpoint's series is there before its first error, so that an alert on increase() sees that one.
        for endpoint in ("/v1/predict", "/v1/feedback", "/v2/models/{name}/infer"):
            assert PACKAGE + '_server_errors_total{endpoint="' + endpoint + '"} 0.0' in metrics
        status, body, _ = client.request("POST", "/v1/predict", records(prepared.test.head(2)))
        assert status == 500
        assert [error["rule"] for error in body["errors"]] == ["internal"]
        assert "log has the traceback" in body["errors"][0]["message"]
        metrics = client.request("GET", "/metrics")[1]
        client.close()
    assert PACKAGE + '_server_errors_total{endpoint="/v1/predict"} 1.0' in metrics
    assert PACKAGE + '_requests_total{endpoint="/v1/predict",status="500"} 1.0' in metrics


def _stalled(base: str, sent: bytes) -> tuple[bytes, float]:
    """Send `sent` on a new connection and stop; what the server answers before it closes, and how long that took."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(sent)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


def test_a_client_that_stops_sending_gets_a_408_and_the_connection_closes(
    prod: ModelVersion, prepared: PreparedData, tmp_path: Path
) -> None:
    """Before: a connection that stopped mid-headers or mid-body was held open for good."""
    app = create_app(prod, tmp_path / "log.jsonl", body_timeout=1.0)
    body = json.dumps(records(prepared.test.head(1))).encode()
    head = b"POST /v1/predict HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
    with running(app, server_config(app, "127.0.0.1", 0, header_timeout=1.0)) as base:
        stalls = {
            "nothing sent": b"",
            "half the headers": head,
            "half the body": head + b"content-length: %d\r\n\r\n" % len(body) + body[: len(body) // 2],
        }
        for stall, sent in stalls.items():
            answer, waited = _stalled(base, sent)
            status_line, _, rest = answer.partition(b"\r\n")
            assert status_line == b"HTTP/1.1 408 Request Timeout", (stall, answer)
            assert 0.9 < waited < 20, (stall, waited)
            error = json.loads(rest.partition(b"\r\n\r\n")[2])["errors"][0]
            assert (error["rule"], error["field"]) == ("timeout", "$"), stall
        # A body that keeps coming, however slowly, is read to its end.
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(head + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
            for start in range(0, len(body), len(body) // 3 + 1):
                time.sleep(0.2)
                connection.sendall(body[start : start + len(body) // 3 + 1])
            assert connection.makefile("rb").readline().startswith(b"HTTP/1.1 200 ")
        client = Client(base)
        metrics = client.request("GET", "/metrics")[1]
        client.close()
    assert PACKAGE + '_requests_total{endpoint="/v1/predict",status="408"} 1.0' in metrics
    assert PACKAGE + '_request_errors_total{rule="timeout"} 1.0' in metrics
