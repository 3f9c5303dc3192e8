"""`monitor:`: the monitor's window, the thresholds of its checks, and its alert rule (k of the last n windows)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import model_validator

from .base import Section, at_least, rule

DURATION = re.compile(r"^([1-9][0-9]*)(s|m|h|d|w)$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
# Every metric the label-free estimate and the realized performance compute (binary, then multiclass).
PERFORMANCE_METRICS = frozenset({"roc_auc", "average_precision", "accuracy", "roc_auc_ovr"})

Share = Annotated[float, rule(lambda p: 0 <= p <= 1, "must be between 0 and 1")]
Probability = Annotated[float, rule(lambda p: 0 < p < 1, "must be between 0 and 1 (exclusive)")]
Window = Annotated[
    str | int,
    rule(
        lambda w: (isinstance(w, int) and w >= 1) or (isinstance(w, str) and DURATION.match(w) is not None),
        "must be a duration such as 30m, 6h, 1d or 1w, or a number of rows (at least 1)",
    ),
]


class DriftThresholds(Section):
    """The drift checks' effect-size floors and their family-wise error."""

    numeric_floor: Annotated[float, rule(lambda f: f >= 0, "must not be negative")]
    categorical_floor: Share
    alpha: Probability


class QualityThresholds(Section):
    """The data-quality checks' ceilings, as shares."""

    max_missing_increase: Share
    max_out_of_range: Share
    max_unseen: Share
    max_error_rate: Share
    max_refusal_rate: Share


class PerformanceSettings(Section):
    """The metrics followed, with their floors, and their intervals."""

    metrics: dict[str, float | None]
    min_labels: Annotated[int, at_least(2)]
    draws: Annotated[int, at_least(10)]
    confidence: Probability

    @model_validator(mode="after")
    def _known_metrics(self) -> PerformanceSettings:
        unknown = sorted(set(self.metrics) - PERFORMANCE_METRICS)
        if unknown:
            raise ValueError(f"metrics: {unknown} unknown; choose from {sorted(PERFORMANCE_METRICS)}")
        return self


class AlertRule(Section):
    """An alert fires when a check alerted in at least `min_windows` of the last `last_windows` windows."""

    min_windows: Annotated[int, at_least(1)]
    last_windows: Annotated[int, at_least(1)]

    @model_validator(mode="after")
    def _k_within_n(self) -> AlertRule:
        if self.min_windows > self.last_windows:
            raise ValueError(f"min_windows ({self.min_windows}) must not exceed last_windows ({self.last_windows})")
        return self


class MonitorConfig(Section):
    """params.yaml's `monitor:` (conf/monitor/)."""

    window: Window
    min_rows: Annotated[int, at_least(1)]
    drift: DriftThresholds
    quality: QualityThresholds
    performance: PerformanceSettings
    alert: AlertRule

    @property
    def window_seconds(self) -> int | None:
        """A time window's length in seconds, or None for a window of rows."""
        if isinstance(self.window, int):
            return None
        number, unit = DURATION.match(self.window).groups()  # type: ignore[union-attr]
        return int(number) * UNIT_SECONDS[unit]
