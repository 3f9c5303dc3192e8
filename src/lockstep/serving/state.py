"""What the server's handlers share (the app's `Api` and the admin endpoints)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import RolloutConfig
from .batcher import MicroBatcher
from .observe import Metrics
from .prediction_log import PredictionLog
from .routing import Router


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
    # Where SIGHUP re-reads the rollout from (params.yaml, or `serve --rollout FILE`); None: it only logs a warning.
    rollout_source: Callable[[], RolloutConfig] | None = None
