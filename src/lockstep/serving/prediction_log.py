"""The prediction log, and the feedback log's writer: JSON lines in segments that are closed, never rotated away.

A writer appends to its stream's open segment (the layout: `contract/prediction_log.py`)
and closes it at the end of the UTC hour or at `SEGMENT_BYTES`: fsync, then renamed
from `.jsonl.open` to `.jsonl`. The server's spool (`log_spool.py`) compresses closed
segments and ships them; nothing is deleted that is not shipped.

What a crash can cost (docs/serving.md): a record reaches the operating system
(`os.write`; it then survives the process's kill -9) as soon as the writer thread
has nothing queued, and at most `FLUSH_SECONDS` after the thread took it when
records keep coming. A kill -9 loses the records still queued or taken in the
last `FLUSH_SECONDS`; a power cut, what the kernel had not written back of the
open segment (closed segments are fsynced).

With `background=False`, each entry is written as it comes (the shadow's process,
which has no request path): `write` returns once the line is with the OS.
Entries are msgspec Structs (`contract/prediction_log.py`) or dicts.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from ..contract.prediction_log import CLOSED_SUFFIX, HOUR_SECONDS, OPEN_SUFFIX, hour_folder, stream_name

try:
    import fcntl
except ModuleNotFoundError:  # Windows: no locks, so the spool takes no open segment for a crashed writer's
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.05  # under steady load, the longest a taken record waits for its os.write
SEGMENT_BYTES = 64 * 2**20  # a segment closes at this size (uncompressed), or at the end of its hour
IDLE_SECONDS = 1.0  # how often an idle writer looks at the clock, to close its segment at the hour
_STOP = object()
_OPENED = itertools.count()  # segment names are unique within a process, whatever the clock says


class SegmentWriter:
    """The open segment of one stream: appends bytes, closes by the hour and by size. One thread at a time."""

    def __init__(self, folder: Path, stream: str, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.folder, self.stream, self.segment_bytes = folder, stream, segment_bytes
        self.fd: int | None = None
        self.path: Path | None = None
        self.size = 0
        self.hour_end = 0.0

    def write(self, data: bytes, now: float) -> None:
        """Append `data` (whole lines) to the open segment, first closing it if its hour is over or it is full."""
        if self.fd is not None and (now >= self.hour_end or self.size + len(data) > self.segment_bytes):
            self.close()
        if self.fd is None:
            self._open(now)
        view = memoryview(data)
        while view:  # a regular file takes it all at once, but os.write promises no more than some
            view = view[os.write(self.fd, view) :]  # type: ignore[arg-type]
        self.size += len(data)

    def tick(self, now: float) -> None:
        """Close the open segment if its hour is over (so an idle hour's segment is shipped)."""
        if self.fd is not None and now >= self.hour_end:
            self.close()

    def close(self) -> None:
        """Write the open segment to disk (fsync) and rename it closed (`.jsonl`), for the spool to seal and ship."""
        if self.fd is None or self.path is None:
            return
        os.fsync(self.fd)
        self.path.rename(self.path.with_name(self.path.name.removesuffix(OPEN_SUFFIX) + CLOSED_SUFFIX))
        os.close(self.fd)  # the lock goes with the descriptor
        self.fd, self.path, self.size = None, None, 0

    def _open(self, now: float) -> None:
        folder = self.folder / hour_folder(self.stream, now)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
        path = folder / f"{stamp}-{os.getpid()}-{next(_OPENED)}{OPEN_SUFFIX}"
        # Locked under a hidden name first, then renamed: the spool never sees an unlocked open segment
        # of a live writer (it takes an unlocked one for a crashed writer's).
        hidden = path.with_name(f".{path.name}")
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        hidden.rename(path)
        self.fd, self.path, self.size = fd, path, 0
        self.hour_end = (now // HOUR_SECONDS + 1) * HOUR_SECONDS


class PredictionLog:
    """One stream of the log (`logs/predictions.jsonl` names the stream `predictions` in `logs/`).

    With `background=True`, `write` only queues: a thread encodes and writes
    the entries, in one os.write per batch (see the module's crash bound).
    """

    def __init__(
        self,
        path: Path,
        background: bool = True,
        segment_bytes: int = SEGMENT_BYTES,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = SegmentWriter(path.parent, stream_name(path), segment_bytes)
        self.encoder = msgspec.json.Encoder()
        self.flush_seconds = flush_seconds
        self.queue: queue.SimpleQueue[Any] | None = None
        if background:
            self.queue = queue.SimpleQueue()
            self.thread = threading.Thread(target=self._run, name=f"log-{self.writer.stream}", daemon=True)
            self.thread.start()

    def write(self, entry: Any) -> None:
        """Queue one entry for the writer thread (or, without one, write it to the OS now); never raises."""
        if self.queue is not None:
            self.queue.put(entry)
            return
        buffer = bytearray()
        self._encode(entry, buffer)
        if buffer:
            self._write(buffer)

    def close(self) -> None:
        """Write what is queued, then close the open segment."""
        if self.queue is not None:
            self.queue.put(_STOP)
            self.thread.join()
        self.writer.close()

    def _encode(self, entry: Any, buffer: bytearray) -> None:
        try:
            self.encoder.encode_into(entry, buffer, -1)
        except (TypeError, ValueError, msgspec.EncodeError):  # a bug upstream: lose this entry, never the log
            log.exception("the %s log cannot encode an entry of type %s", self.writer.stream, type(entry).__name__)
            return
        buffer.extend(b"\n")

    def _run(self) -> None:
        """Take what is queued (up to FLUSH_SECONDS' worth), write it in one os.write, repeat."""
        assert self.queue is not None
        buffer = bytearray()
        while True:
            try:
                entry = self.queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                self.writer.tick(time.time())
                continue
            deadline = time.monotonic() + self.flush_seconds
            while entry is not _STOP:
                before = len(buffer)
                self._encode(entry, buffer)
                if len(buffer) == before or time.monotonic() < deadline:
                    try:
                        entry = self.queue.get_nowait()
                        continue
                    except queue.Empty:
                        pass
                break
            if buffer:
                self._write(buffer)
                buffer.clear()
            if entry is _STOP:
                return

    def _write(self, buffer: bytearray) -> None:
        try:
            self.writer.write(buffer, time.time())
        except OSError:  # a full disk, say: these lines are lost, and said so; the next batch tries again
            log.exception("the %s log lost %d lines", self.writer.stream, buffer.count(b"\n"))
