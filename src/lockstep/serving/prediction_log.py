"""The prediction log, and the feedback log's writer.

A rotating file of JSON lines (request id, model version, inputs, outputs,
latency), written by a background thread: a request only puts its record on a
queue. Monitoring reads this file.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
from pathlib import Path
from typing import Any

import msgspec


class PredictionLog:
    """A rotating JSON-lines file, written off the request path by a QueueListener thread.

    With `background=False`, each entry is written as it comes (the shadow's
    process, which has no request path). Also the feedback log's writer:
    entries are dicts or msgspec Structs (`contract/prediction_log.py`).
    """

    def __init__(self, path: Path, max_bytes: int = 10_000_000, backups: int = 5, background: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        handler.setFormatter(_JsonLines())
        self.handler = handler
        self.queue: queue.SimpleQueue[logging.LogRecord] | None = None
        if background:
            self.queue = queue.SimpleQueue()
            self.listener = logging.handlers.QueueListener(self.queue, handler)
            self.listener.start()

    def write(self, entry: Any) -> None:
        """Queue one entry for the listener thread to encode and write (or write it now)."""
        record = logging.makeLogRecord({"msg": entry, "levelno": logging.INFO, "levelname": "INFO"})
        if self.queue is None:
            self.handler.handle(record)
        else:
            self.queue.put(record)

    def close(self) -> None:
        """Write what is queued, then close the file."""
        if self.queue is not None:
            self.listener.stop()
        self.handler.close()


class _JsonLines(logging.Formatter):
    """A log record whose message is a dict, as one line of JSON (run in the writer thread)."""

    def format(self, record: logging.LogRecord) -> str:
        return msgspec.json.encode(record.msg).decode()
