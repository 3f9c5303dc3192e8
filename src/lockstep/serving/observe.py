"""What the server tells about itself: Prometheus metrics, and the prediction log.

The prediction log is a rotating file of JSON lines (request id, model version,
inputs, outputs, latency), written by a background thread: a request only puts
its record on a queue. Monitoring reads this file.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
from pathlib import Path
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry, Counter, Histogram

from .. import PACKAGE

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))


class Metrics:
    """The server's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            f"{PACKAGE}_requests",
            "HTTP requests by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            f"{PACKAGE}_request_errors", "Refused requests by the rule they broke", ["rule"], registry=self.registry
        )
        self.latency = Histogram(
            f"{PACKAGE}_request_latency_seconds",
            "Time from request to response",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Histogram(
            f"{PACKAGE}_prediction_score",
            "Distribution of predicted scores (binary)",
            ["model_version"],
            buckets=SCORE_BUCKETS,
            registry=self.registry,
        )
        self.labels = Counter(
            f"{PACKAGE}_predicted_labels", "Predicted labels", ["model_version", "label"], registry=self.registry
        )
        self.arm_requests = Counter(
            f"{PACKAGE}_arm_requests",
            "Scored requests by arm (prod, canary, shadow) and version",
            ["arm", "model_version"],
            registry=self.registry,
        )
        self.arm_latency = Histogram(
            f"{PACKAGE}_arm_latency_seconds",
            "Time to score a request, by arm (a shadow's: from the request's arrival to its log line)",
            ["arm"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.shadow_dropped = Counter(
            f"{PACKAGE}_shadow_dropped", "Requests the shadow never scored: its queue was full", registry=self.registry
        )
        self.shadow_errors = Counter(
            f"{PACKAGE}_shadow_errors", "Shadow calls that failed, by exception type", ["kind"], registry=self.registry
        )
        self.shadow_over_budget = Counter(
            f"{PACKAGE}_shadow_over_budget",
            "Shadow calls slower than the rollout's shadow_budget_ms",
            registry=self.registry,
        )

    def observe_predictions(self, version: str, scores: list[float] | None, labels: list[Any]) -> None:
        """Count the labels and record the scores of one response."""
        histogram = self.scores.labels(version)
        for score in scores or []:
            histogram.observe(score)
        for label in labels:
            self.labels.labels(version, str(label)).inc()


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
