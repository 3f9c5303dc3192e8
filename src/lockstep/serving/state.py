"""What the server's handlers share (the app's `Api` and the admin endpoints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .batcher import MicroBatcher
from .live import LiveSignals, LiveWindow
from .observe import Metrics
from .prediction_log import PredictionLog
from .routing import Router

if TYPE_CHECKING:
    from .admin import ReloadSource


@dataclass
class ServerState:
    """What the handlers share: the routing table (swapped whole), and the server's helpers."""

    router: Router
    name: str
    batcher: MicroBatcher
    metrics: Metrics
    log: PredictionLog
    feedback: PredictionLog
    admin_token: str | None
    # What SIGHUP re-reads: the stage prod follows and the rollout's source; None: it only logs a warning.
    reload_source: ReloadSource | None = None
    # The last rows each answering version scored, measured against its reference when /metrics is read.
    live: LiveWindow = field(default_factory=LiveWindow)

    def __post_init__(self) -> None:
        self.metrics.show_routing(lambda: self.router.table.candidate is not None)
        self.metrics.registry.register(LiveSignals(self.live, self.answering))

    def answering(self) -> set[str]:
        """The versions that answer requests in-process now: prod, and the candidate of a canary or A/B test."""
        table = self.router.table
        return {table.prod.version} | ({table.candidate.version} if table.candidate is not None else set())
