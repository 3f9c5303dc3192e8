"""The prediction log against a real S3 API (moto's server): shipped, read back by prefix, and an outage survived."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep.contract.prediction_log import (
    FeedbackRecord,
    PredictionRecord,
    read_feedback,
    read_predictions,
)
from lockstep.rollout.evidence import load_evidence
from lockstep.serving.log_spool import LogSpool
from lockstep.serving.object_store import S3Store
from lockstep.serving.prediction_log import PredictionLog

from tests.conftest import VENV_BIN, tool_env
from tests.http_client import Client, free_port, wait_ready
from tests.s3 import BUCKET, CREDENTIALS, s3_client
from tests.unit.conftest import bundle, cfg, contract, prepared, trained, trusted_types  # noqa: F401
from tests.unit.serving.test_api import records


class Outage:
    """A TCP proxy in front of the S3 server that can be cut: while it is, each connection is read from, then reset.

    A PUT through a cut proxy fails half-sent, as one does when the network or S3 goes away during an upload.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://").split(":")
        self.cut = threading.Event()
        self.refused = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.cut.is_set():
            client.recv(1024)  # the request line and some headers: then the connection is reset
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            client.close()
            self.refused += 1
            return
        server = socket.create_connection((self.upstream[0], int(self.upstream[1])))
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self.listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test credentials and the S3 server's address, as the server and the readers read them."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    return s3_endpoint


def keys(endpoint: str, prefix: str) -> list[str]:
    listed = s3_client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
    return sorted(item["Key"].removeprefix(f"{prefix}/") for item in listed.get("Contents", []))


def local_segments(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.glob("*/hour=*/*"))


def wait_for(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)
    assert condition(), "timed out"  # type: ignore[operator]


def test_an_s3_outage_during_upload_loses_nothing_and_the_upload_catches_up(
    s3_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lockstep.serving.log_spool.FIRST_BACKOFF_SECONDS", 0.05)
    monkeypatch.setattr("lockstep.serving.log_spool.MAX_BACKOFF_SECONDS", 0.2)
    outage, prefix, logs = Outage(s3_env), f"{tmp_path.name}/logs", tmp_path / "logs"
    spool = LogSpool(logs, S3Store(f"s3://{BUCKET}/{prefix}", endpoint=outage.url), scan_seconds=0.05)
    spool.start()
    # Written as they come (no writer thread, whose batches would make the segments' sizes vary).
    log = PredictionLog(logs / "predictions.jsonl", background=False, segment_bytes=4_000)
    feedback = PredictionLog(logs / "feedback.jsonl", background=False, segment_bytes=1_000)
    written = 0

    def write(count: int) -> None:
        nonlocal written
        for i in range(written, written + count):
            log.write(_record(f"r{i}"))
            feedback.write(FeedbackRecord(id=f"r{i}:0", outcome=i % 2, time=time.time()))
        written += count

    try:
        write(100)
        wait_for(lambda: len(keys(s3_env, prefix)) >= 4)  # S3 is up: segments are shipped as they close
        outage.cut.set()
        write(300)
        wait_for(lambda: outage.refused >= 3)  # uploads tried, and retried, during the outage
        waiting = [name for name in local_segments(logs) if name.endswith(".jsonl.gz")]
        assert len(waiting) >= 5
        assert not set(waiting) & set(keys(s3_env, prefix))  # nothing claimed shipped that S3 does not hold
        outage.cut.clear()
        write(100)
        log.close()
        feedback.close()
        wait_for(lambda: local_segments(logs) == [])  # caught up: every segment shipped, then deleted
    finally:
        spool.stop()
        outage.close()
    shipped = keys(s3_env, prefix)
    assert set(waiting) <= set(shipped)
    source = f"s3://{BUCKET}/{prefix}"
    assert [r.request_id for r in read_predictions(source)] == [f"r{i}" for i in range(500)]
    assert [f.id for f in read_feedback(source)] == [f"r{i}:0" for i in range(500)]


def _record(request_id: str) -> PredictionRecord:
    return PredictionRecord(
        request_id=request_id,
        time=time.time(),
        model_version="v0.3.0",
        model_sha256="0" * 64,
        ids=[f"{request_id}:0"],
        inputs=[{"age": 41, "purpose": "car"}],
        outputs={"label": [1], "score": [0.625]},
        latency_ms=2.0,
    )


@contextlib.contextmanager
def serving(model: Path, folder: Path, port: int, env: dict[str, str]) -> Iterator[str]:
    """`lockstep serve --log-upload remote` in `folder` (a DVC project whose default remote is S3)."""
    command = [
        str(VENV_BIN / "lockstep"),
        "serve",
        "--model",
        str(model),
        "--port",
        str(port),
    ]
    command += ["--prediction-log", str(folder / "logs" / "predictions.jsonl"), "--log-upload", "remote"]
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_server_ships_its_logs_to_the_dvc_remote_and_the_readers_read_them_from_s3(
    bundle: Path,  # noqa: F811
    prepared,  # noqa: F811
    s3_env: str,
    tmp_path: Path,
) -> None:
    env = tool_env(**CREDENTIALS)
    project = tmp_path / "project"
    project.mkdir()
    remote = f"s3://{BUCKET}/{tmp_path.name}"
    for command in (
        ["git", "init", "-q"],
        ["dvc", "init", "-q"],
        ["dvc", "remote", "add", "--default", "storage", remote],
        ["dvc", "remote", "modify", "--local", "storage", "endpointurl", s3_env],
    ):
        subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    payloads = records(prepared.test.head(30))
    started = time.time()
    with serving(bundle, project, free_port(), env) as base:
        client = Client(base)
        for i, payload in enumerate(payloads):
            assert client.request("POST", "/v1/predict", payload, {"x-request-id": f"q{i}"})[0] == 200
        outcomes = [{"id": payload["loan_id"], "outcome": 1} for payload in payloads[:10]]
        assert client.request("POST", "/v1/feedback", outcomes)[0] == 200
    assert local_segments(project / "logs") == []  # shipped at shutdown, then deleted
    source = f"{remote}/prediction-logs"
    assert all(key.endswith(".jsonl.gz") for key in keys(s3_env, f"{tmp_path.name}/prediction-logs"))
    assert [r.request_id for r in read_predictions(source)] == [f"q{i}" for i in range(30)]
    assert list(read_predictions(source, start=time.time() + 1)) == []
    assert len(list(read_predictions(source, start=started - 1))) == 30
    assert len(list(read_feedback(source))) == 10
    # What `lockstep rollout report --logs s3://...` reads:
    evidence = load_evidence(source)
    assert (len(evidence.requests), int(evidence.rows["has_outcome"].sum())) == (30, 10)
