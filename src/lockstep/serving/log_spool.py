"""The log's spool: seals closed segments, ships them, and deletes a segment only once its upload is confirmed.

One thread per server, over the whole log folder (the server's streams and its
shadow's). Every `SCAN_SECONDS` it:

1. closes the open segments that crashed writers left (unlocked `.jsonl.open`), their
   last line dropped if the crash cut it;
2. seals each closed segment: gzip to a hidden file, fsync, renamed `.jsonl.gz`, then
   the `.jsonl` deleted;
3. with a destination (`--log-upload`), uploads the sealed segments, oldest first,
   under the same relative path, and deletes each once the store confirms it.

An upload that fails ends the pass; the next one comes after a back-off that
doubles up to `MAX_BACKOFF_SECONDS`. The segments wait in the folder meanwhile:
an outage costs disk, not records, and the upload catches up when it ends.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import shutil
import threading
import time
from pathlib import Path

from ..contract.prediction_log import CLOSED_SUFFIX, HOUR_PARTITION, OPEN_SUFFIX, SEALED_SUFFIX
from ..errors import PipelineError
from .object_store import ObjectStore, S3Store, UploadError, open_store

try:
    import fcntl
except ModuleNotFoundError:  # Windows: a crashed writer's open segment stays open (the readers still read it)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
SCAN_SECONDS = 5.0
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
COMPRESS_LEVEL = 6  # 7x smaller than the JSON lines, 6 us of CPU per line (BENCHMARKS.md)
SPOOL_NICENESS = 10
DVC_REMOTE = "remote"  # --log-upload remote: the DVC default remote, under LOGS_PREFIX
LOGS_PREFIX = "prediction-logs"


class LogSpool:
    """Seals the closed segments under `folder` and, given a store, ships them (a thread: `start`, `stop`)."""

    def __init__(self, folder: Path, store: ObjectStore | None = None, scan_seconds: float = SCAN_SECONDS) -> None:
        self.folder, self.store, self.scan_seconds = folder, store, scan_seconds
        self.stopping = threading.Event()
        self.final_deadline = 0.0
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread; its first pass takes what an earlier run left."""
        self.thread = threading.Thread(target=self._run, name="log-spool", daemon=True)
        self.thread.start()

    def stop(self, upload_seconds: float = 10.0) -> None:
        """After the writers have closed: one last pass, shipping for up to `upload_seconds`; the rest waits."""
        self.final_deadline = time.monotonic() + upload_seconds
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=upload_seconds + 5)

    def run_once(self, deadline: float | None = None) -> bool:
        """One pass: close crashed writers' segments, seal, ship until `deadline`; False if an upload failed."""
        segments = sorted(self.folder.glob(f"*/{HOUR_PARTITION}=*/*"))
        for path in segments:
            if path.name.startswith("."):
                _clear_leftover(path)
            elif path.name.endswith(OPEN_SUFFIX):
                _close_if_orphaned(path)
        for path in sorted(self.folder.glob(f"*/{HOUR_PARTITION}=*/*{CLOSED_SUFFIX}")):
            if not path.name.startswith("."):
                seal(path)
        return self.store is None or self._ship(deadline)

    def pending(self) -> list[Path]:
        """The sealed segments not shipped yet, oldest first."""
        return sorted(
            p for p in self.folder.glob(f"*/{HOUR_PARTITION}=*/*{SEALED_SUFFIX}") if not p.name.startswith(".")
        )

    def _ship(self, deadline: float | None) -> bool:
        assert self.store is not None
        for path in self.pending():
            if deadline is not None and time.monotonic() > deadline:
                return False
            key = path.relative_to(self.folder).as_posix()
            try:
                self.store.put(key, path.read_bytes())
            except (UploadError, OSError) as exc:
                log.warning("log upload to %s failed, %d segments wait: %s", self.store.url, len(self.pending()), exc)
                return False
            path.unlink(missing_ok=True)  # only now: the store has it
        return True

    def _run(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # Linux: this thread's own niceness, not the process's
            # Sealing takes a core for about a second per 64 MB: the request handlers come first.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SPOOL_NICENESS)
        failures = 0
        delay = 0.0
        while not self.stopping.wait(delay):
            failures = 0 if self._pass(None) else failures + 1
            delay = self.scan_seconds if not failures else min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2**failures)
        self._pass(self.final_deadline)

    def _pass(self, deadline: float | None) -> bool:
        try:
            return self.run_once(deadline)
        except Exception:  # a bug, or a folder we may not write: say so, and try again later
            log.exception("the log spool's pass over %s failed", self.folder)
            return False


def seal(closed: Path) -> Path:
    """Compress a closed segment to `.jsonl.gz` (fsynced, then renamed into place) and delete the `.jsonl`."""
    sealed = closed.with_name(closed.name + ".gz")
    if not sealed.exists():  # else a crash came between the rename and the unlink: the sealed one is whole
        temporary = closed.with_name(f".{sealed.name}.{os.getpid()}.tmp")
        with closed.open("rb") as source, temporary.open("wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", compresslevel=COMPRESS_LEVEL, fileobj=raw, mtime=0) as packed:
                shutil.copyfileobj(source, packed, 2**20)
            raw.flush()
            os.fsync(raw.fileno())
        temporary.rename(sealed)
        _fsync_folder(sealed.parent)
    closed.unlink(missing_ok=True)
    return sealed


def _close_if_orphaned(path: Path) -> None:
    """Close an open segment that no writer holds (its writer crashed): cut a torn last line, rename it `.jsonl`."""
    if fcntl is None:
        return
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:  # its writer closed it meanwhile
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live writer's
            return
        size = os.fstat(fd).st_size
        complete = _end_of_last_line(fd, size)
        if complete < size:
            log.warning("%s: a crashed writer's last %d bytes (a cut line) dropped", path.name, size - complete)
            os.ftruncate(fd, complete)
        os.fsync(fd)
        path.rename(path.with_name(path.name.removesuffix(OPEN_SUFFIX) + CLOSED_SUFFIX))
    finally:
        os.close(fd)


def _end_of_last_line(fd: int, size: int, chunk: int = 2**20) -> int:
    """The offset just past the file's last newline (0 if it has none), read backwards."""
    end = size
    while end > 0:
        start = max(0, end - chunk)
        found = os.pread(fd, end - start, start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def _clear_leftover(path: Path) -> None:
    """A hidden file left by a crash: a seal's temporary file, or an open segment never renamed (empty)."""
    if path.name.endswith(".tmp") or (path.name.endswith(OPEN_SUFFIX) and fcntl is not None and _unlocked(path)):
        path.unlink(missing_ok=True)


def _unlocked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    if os.name == "posix":  # a rename is durable once its folder is
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def upload_store(destination: str | None) -> ObjectStore | None:
    """The store `--log-upload` names: None, `s3://bucket/prefix`, a folder, or `remote` (DVC's default remote)."""
    if not destination:
        return None
    if destination != DVC_REMOTE:
        return open_store(destination)
    try:
        from dvc.config import Config
    except ModuleNotFoundError:  # the serving image has no DVC
        raise PipelineError("--log-upload remote reads the DVC remote: name it, as s3://bucket/prefix") from None
    config = Config.from_cwd(validate=False)
    name = config["core"].get("remote")
    if not name or name not in config["remote"]:
        raise PipelineError("--log-upload remote: this project has no default DVC remote (`dvc remote default`)")
    remote = config["remote"][name]
    store = open_store(f"{str(remote['url']).rstrip('/')}/{LOGS_PREFIX}")
    if isinstance(store, S3Store) and remote.get("endpointurl"):
        return S3Store(store.url, remote["endpointurl"])
    return store
