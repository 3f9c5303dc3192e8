"""What the server's handlers share (the app's `Api` and the admin endpoints)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .batcher import MicroBatcher
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

    def __post_init__(self) -> None:
        self.metrics.show_routing(lambda: self.router.table.candidate is not None)
