"""What the server tells about itself: its Prometheus metrics (the prediction log: `prediction_log.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
        # Apart from `requests`, and at 0 for every endpoint from the start: Prometheus' increase() cannot see a
        # series' first appearance, so an alert on it would miss the first server error.
        self.server_errors = Counter(
            f"{PACKAGE}_server_errors",
            "Responses with a 5xx status (the server failed, not the request), by endpoint",
            ["endpoint"],
            registry=self.registry,
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
        self.candidate_present = Gauge(
            f"{PACKAGE}_rollout_candidate_present",
            "1 while a rollout's candidate is loaded and routed; 0 while prod answers alone (no rollout, or an empty"
            " candidate stage after a rollback or a promotion)",
            registry=self.registry,
        )
        self.reloads = Counter(
            f"{PACKAGE}_reloads",
            "SIGHUP reloads of prod and the rollout, by result (applied, failed: the routing in use stays)",
            ["result"],
            registry=self.registry,
        )
        for result in ("applied", "failed"):
            self.reloads.labels(result)

    def show_routing(self, candidate_present: Callable[[], bool]) -> None:
        """Read `candidate_present` at every scrape, so the gauge follows each new routing table."""
        self.candidate_present.set_function(lambda: float(candidate_present()))

    def track(self, endpoint: str) -> None:
        """Show `endpoint`'s server errors in /metrics from now, at 0 until one happens."""
        self.server_errors.labels(endpoint)

    def answered(self, endpoint: str, status: int, seconds: float | None = None) -> None:
        """Count one response by endpoint and status (a 5xx also as a server error), and its latency if known."""
        self.requests.labels(endpoint, str(status)).inc()
        if status >= 500:
            self.server_errors.labels(endpoint).inc()
        if seconds is not None:
            self.latency.labels(endpoint).observe(seconds)

    def observe_predictions(self, version: str, scores: list[float] | None, labels: list[Any]) -> None:
        """Count the labels and record the scores of one response."""
        histogram = self.scores.labels(version)
        for score in scores or []:
            histogram.observe(score)
        for label in labels:
            self.labels.labels(version, str(label)).inc()
