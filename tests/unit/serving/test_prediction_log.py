"""The durable prediction log: segments by hour and size, the spool that seals and ships them, the crash bound."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lockstep.contract.prediction_log import (
    FeedbackRecord,
    PredictionRecord,
    log_lines,
    read_feedback,
    read_predictions,
)
from lockstep.serving import prediction_log as writer_module
from lockstep.serving.log_spool import LogSpool, seal, upload_store
from lockstep.serving.object_store import FolderStore, S3Store, UploadError, sign
from lockstep.serving.prediction_log import PredictionLog, SegmentWriter

from tests.conftest import tool_env
from tests.http_client import Client, free_port, wait_ready
from tests.unit.serving.test_serve_faults import serve_process

HOUR = 3600.0
NOON = 1_796_558_400.0  # 2026-12-06T12:00:00Z


def record(request_id: str, when: float, inputs: int = 1) -> PredictionRecord:
    return PredictionRecord(
        request_id=request_id,
        time=when,
        model_version="v0.3.0",
        model_sha256="0" * 64,
        ids=[f"{request_id}:{i}" for i in range(inputs)],
        inputs=[{"age": 30 + i} for i in range(inputs)],
        outputs={"label": [1] * inputs, "score": [0.75] * inputs},
        latency_ms=1.5,
    )


def files(folder: Path, pattern: str = "*") -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.glob(f"*/hour=*/{pattern}"))


def test_lines_are_read_back_in_order_while_open_and_once_closed(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "predictions.jsonl", segment_bytes=2_000)
    for i in range(40):
        log.write(record(f"r{i}", time.time()))
        if i % 10 == 9:  # a reader of the live folder sees the open segment as far as it is written
            deadline = time.monotonic() + 10
            while len(list(read_predictions(tmp_path))) <= i and time.monotonic() < deadline:
                time.sleep(0.01)
    log.close()
    assert [r.request_id for r in read_predictions(tmp_path)] == [f"r{i}" for i in range(40)]
    assert len(files(tmp_path, "*.jsonl")) == 4  # a segment past 2,000 bytes closes before the next write
    assert files(tmp_path, "*.open") == []


def test_a_segment_closes_at_the_end_of_its_hour_and_the_next_is_in_the_next_hours_folder(tmp_path: Path) -> None:
    writer = SegmentWriter(tmp_path, "predictions")
    writer.write(b'{"a": 1}\n', NOON + 10)
    writer.write(b'{"a": 2}\n', NOON + HOUR - 0.001)
    writer.tick(NOON + HOUR - 0.0005)
    assert len(files(tmp_path, "*.open")) == 1  # not yet
    writer.write(b'{"a": 3}\n', NOON + HOUR)
    writer.tick(NOON + 2 * HOUR + 1)  # an idle writer closes its segment when the clock passes the hour
    assert [name.split("/")[1] for name in files(tmp_path, "*.jsonl")] == ["hour=2026-12-06T12", "hour=2026-12-06T13"]
    assert list(log_lines(tmp_path, "predictions")) == [b'{"a": 1}', b'{"a": 2}', b'{"a": 3}']


def test_the_readers_filter_by_time_and_keep_a_record_queued_across_the_hour(tmp_path: Path) -> None:
    writer = SegmentWriter(tmp_path, "predictions")
    for hour in range(4):
        writer.write(_line(f"h{hour}", NOON + hour * HOUR + 60), NOON + hour * HOUR + 60)
        if hour == 2:  # answered before 14:00, written after: in hour 14's segment
            writer.write(_line("late", NOON + 2 * HOUR - 0.2), NOON + 2 * HOUR + 61)
    writer.close()
    assert len(files(tmp_path, "*.jsonl")) == 4
    ids = lambda **window: [r.request_id for r in read_predictions(tmp_path, **window)]  # noqa: E731
    assert ids() == ["h0", "h1", "h2", "late", "h3"]  # each segment in its writing order
    assert ids(start=NOON + HOUR, end=NOON + 3 * HOUR) == ["h1", "h2", "late"]
    assert ids(start=NOON + 2 * HOUR) == ["h2", "h3"]
    assert ids(start=NOON + 2 * HOUR - 1) == ["h2", "late", "h3"]  # the hour before is read for it
    assert ids(end=NOON + 60) == []


def _line(request_id: str, when: float) -> bytes:
    import msgspec

    return msgspec.json.encode(record(request_id, when)) + b"\n"


def test_logs_written_before_segments_are_read_first_oldest_file_first(tmp_path: Path) -> None:
    import msgspec

    for name, request_id in (
        ("predictions.jsonl.2", "oldest"),
        ("predictions.jsonl.1", "older"),
        ("predictions.jsonl", "old"),
    ):
        (tmp_path / name).write_bytes(msgspec.json.encode(record(request_id, NOON)) + b"\n")
    (tmp_path / "feedback.jsonl").write_bytes(b'{"id": "old:0", "outcome": 1, "time": 1.0}')  # no final newline
    log = PredictionLog(tmp_path / "predictions.jsonl", background=False)
    log.write(record("new", time.time()))
    log.close()
    assert [r.request_id for r in read_predictions(tmp_path)] == ["oldest", "older", "old", "new"]
    assert [f.id for f in read_feedback(tmp_path)] == ["old:0"]


def test_the_spool_seals_closed_segments_and_leaves_a_live_writers_open_one(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "predictions.jsonl", background=False, segment_bytes=1_000)
    for i in range(12):
        log.write(record(f"r{i}", time.time()))
    spool = LogSpool(tmp_path)
    assert spool.run_once()
    assert len(files(tmp_path, "*.jsonl.gz")) >= 2
    assert files(tmp_path, "*.jsonl") == []
    assert len(files(tmp_path, "*.open")) == 1  # locked: its writer lives
    sealed = tmp_path / files(tmp_path, "*.jsonl.gz")[0]
    assert gzip.decompress(sealed.read_bytes()).startswith(b'{"request_id":"r0"')
    log.close()
    spool.run_once()
    assert files(tmp_path, "*.open") == files(tmp_path, "*.jsonl") == []
    assert [r.request_id for r in read_predictions(tmp_path)] == [f"r{i}" for i in range(12)]


def test_a_seal_cut_short_by_a_crash_is_neither_lost_nor_read_twice(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path / "feedback.jsonl", background=False)
    log.write(FeedbackRecord(id="a:0", outcome=1, time=NOON))
    log.close()
    closed = tmp_path / files(tmp_path, "*.jsonl")[0]
    data = closed.read_bytes()
    seal(closed)
    closed.write_bytes(data)  # as if the crash came between the sealed file's rename and the unlink
    (closed.parent / f".{closed.name}.gz.tmp").write_bytes(b"half")  # and an earlier seal's temporary file
    assert [f.id for f in read_feedback(tmp_path)] == ["a:0"]
    LogSpool(tmp_path).run_once()
    assert files(tmp_path, ".*") == []
    assert files(tmp_path) == [closed.relative_to(tmp_path).as_posix() + ".gz"]
    assert [f.id for f in read_feedback(tmp_path)] == ["a:0"]


def test_the_spool_closes_a_crashed_writers_segment_without_its_cut_line(tmp_path: Path) -> None:
    writer = SegmentWriter(tmp_path, "feedback")
    writer.write(b'{"id": "a", "outcome": 1, "time": 1.0}\n{"id": "b", "outcome": 0, "time": 2.0}\n', time.time())
    os.write(writer.fd, b'{"id": "c", "outc')  # type: ignore[arg-type]  # a crash in the middle of a write
    os.close(writer.fd)  # type: ignore[arg-type]  # as a dead process's descriptors are: the lock goes with it
    assert [f.id for f in read_feedback(tmp_path)] == ["a", "b"]  # a reader leaves the cut line out
    LogSpool(tmp_path).run_once()
    assert files(tmp_path, "*.open") == []
    assert gzip.decompress((tmp_path / files(tmp_path, "*.gz")[0]).read_bytes()).endswith(b'"time": 2.0}\n')
    assert [f.id for f in read_feedback(tmp_path)] == ["a", "b"]


def test_the_spool_ships_sealed_segments_and_deletes_them_only_once_stored(tmp_path: Path) -> None:
    logs, remote = tmp_path / "logs", tmp_path / "remote"
    log = PredictionLog(logs / "predictions.jsonl", background=False, segment_bytes=600)
    for i in range(10):
        log.write(record(f"r{i}", time.time()))
    log.close()

    class Down:
        url = "down://"
        calls = 0

        def put(self, key: str, body: bytes) -> None:
            Down.calls += 1
            raise UploadError("503 Slow Down")

    assert not LogSpool(logs, Down()).run_once()
    assert Down.calls == 1  # the pass ends at the first failure: the next comes after a back-off
    waiting = files(logs, "*.jsonl.gz")
    assert len(waiting) >= 3
    assert LogSpool(logs, FolderStore(str(remote))).run_once()
    assert files(logs) == []
    assert files(remote) == waiting
    assert [r.request_id for r in read_predictions(remote)] == [f"r{i}" for i in range(10)]


def test_the_spool_thread_backs_off_and_catches_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lockstep.serving.log_spool.FIRST_BACKOFF_SECONDS", 0.01)
    remote = tmp_path / "remote"
    up = threading.Event()

    class Flaky:
        url = "flaky://"

        def put(self, key: str, body: bytes) -> None:
            if not up.is_set():
                raise OSError("connection refused")
            FolderStore(str(remote)).put(key, body)

    spool = LogSpool(tmp_path / "logs", Flaky(), scan_seconds=0.02)
    spool.start()
    log = PredictionLog(tmp_path / "logs" / "predictions.jsonl", segment_bytes=600)
    for i in range(20):
        log.write(record(f"r{i}", time.time()))
    log.close()
    time.sleep(0.2)
    assert files(remote) == []
    up.set()
    deadline = time.monotonic() + 10
    while files(tmp_path / "logs") and time.monotonic() < deadline:
        time.sleep(0.02)
    spool.stop()
    assert files(tmp_path / "logs") == []
    assert [r.request_id for r in read_predictions(remote)] == [f"r{i}" for i in range(20)]


def test_the_upload_destination_is_checked_before_the_server_starts(tmp_path: Path) -> None:
    assert upload_store(None) is None
    assert upload_store("s3://bucket/logs/") == S3Store("s3://bucket/logs")
    assert upload_store(str(tmp_path)) == FolderStore(str(tmp_path))
    for wrong in ("s3://", "gs://bucket/logs"):
        with pytest.raises(Exception, match="--log-upload"):
            upload_store(wrong)


def test_the_s3_signature_is_the_one_aws_documents() -> None:
    """AWS's own example of a signed PUT (Signature Version 4, "Example: PUT Object")."""
    body = b"Welcome to Amazon S3."
    headers = {
        "Host": "examplebucket.s3.amazonaws.com",
        "Date": "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
    }
    authorization = sign(
        "PUT",
        "/test%24file.text",
        headers,
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "us-east-1",
    )
    assert body
    assert authorization.endswith(
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )


# A process that logs as the shadow's does (each line written before `write` returns), says "ack <i>"
# after each write, and is killed with SIGKILL by the test.
SYNC_WRITER = """
import sys, time
from pathlib import Path
from lockstep.contract.prediction_log import FeedbackRecord
from lockstep.serving.prediction_log import PredictionLog
log = PredictionLog(Path(sys.argv[1]), background=False, segment_bytes=4_000)
i = 0
while True:
    log.write(FeedbackRecord(id=f"r{i}", outcome=i, time=time.time()))
    print(f"ack {i}", flush=True)
    i += 1
"""


def test_a_kill_9_loses_no_line_a_writer_without_a_thread_acknowledged(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SYNC_WRITER, str(tmp_path / "feedback.jsonl")],
        stdout=subprocess.PIPE,
        text=True,
        env=tool_env(),
    )
    acknowledged = []
    assert process.stdout is not None
    for line in process.stdout:
        acknowledged.append(line.split()[1])
        if len(acknowledged) == 3_000:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    survived = [f.id for f in read_feedback(tmp_path)]
    assert survived[: len(acknowledged)] == [f"r{i}" for i in acknowledged]
    LogSpool(tmp_path).run_once()  # the killed writer's open segment: closed, sealed, nothing lost
    assert files(tmp_path, "*.open") == []
    assert [f.id for f in read_feedback(tmp_path)] == survived


def test_a_server_killed_with_kill_9_under_load_loses_only_its_last_instant(
    bundle: Path, payloads: list[dict], tmp_path: Path
) -> None:
    """Eight clients for two seconds, then SIGKILL: every answer older than `bound` seconds is in the log."""
    port, log = free_port(), tmp_path / "logs" / "predictions.jsonl"
    process = serve_process(bundle, port, log)
    acknowledged: dict[str, float] = {}
    stop = threading.Event()
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)

        def client(worker: int) -> None:
            connection, i = Client(f"http://127.0.0.1:{port}", timeout=10), 0
            while not stop.is_set():
                request_id = f"w{worker}-{i}"
                try:
                    status = connection.request("POST", "/v1/predict", payloads[i % 50], {"x-request-id": request_id})[
                        0
                    ]
                except OSError:
                    return
                if status == 200:
                    acknowledged[request_id] = time.monotonic()
                i += 1

        with ThreadPoolExecutor(8) as pool:
            for worker in range(8):
                pool.submit(client, worker)
            time.sleep(2)
            killed_at = time.monotonic()
            process.send_signal(signal.SIGKILL)
            process.wait()
            stop.set()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    logged = {r.request_id for r in read_predictions(tmp_path / "logs")}
    lost = {request_id: killed_at - at for request_id, at in acknowledged.items() if request_id not in logged}
    bound = 1.0  # twenty times FLUSH_SECONDS: the writer thread is never that far behind
    print(
        f"kill -9: {len(lost)} of {len(acknowledged)} answered requests not in the log, the oldest answered "
        f"{max(lost.values(), default=0) * 1000:.0f} ms before the kill (FLUSH_SECONDS {writer_module.FLUSH_SECONDS})"
    )
    assert len(acknowledged) > 100
    assert all(age < bound for age in lost.values()), sorted(lost.values())[-5:]
