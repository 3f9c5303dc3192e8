"""Bootstrap intervals: is a change in a metric real, or is it noise of the rows it was measured on?

Paired: both models are scored on the same resampled rows in every round, so the
interval is of the difference itself, and the variance the two share (rows
that are hard for one model are hard for the other) cancels out. (A rollout's
arms are compared paired too: both versions score every labelled user.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..evaluation.metrics import MetricFunction, Scored


@dataclass(frozen=True)
class Interval:
    """new - base on the full test set, and its bootstrap confidence interval."""

    delta: float
    low: float
    high: float
    confidence: float
    resamples: int
    standard_error: float = float("nan")  # the resampled deltas' standard deviation


def paired_bootstrap(
    base: Scored, new: Scored, metric: MetricFunction, resamples: int, confidence: float, seed: int
) -> Interval:
    """Percentile interval of metric(new) - metric(base) over paired resamples of the rows.

    `base` and `new` must hold predictions for the same rows in the same order.
    Resamples on which the metric is undefined (one class only) are skipped.
    """
    if not np.array_equal(base.y_true, new.y_true):
        raise ValueError("base and new predictions are not for the same test rows")
    rng = np.random.default_rng(seed)
    n_rows = len(new.y_true)
    deltas = []
    for _ in range(resamples):
        rows = rng.integers(0, n_rows, n_rows)
        delta = metric(new.take(rows)) - metric(base.take(rows))
        if math.isfinite(delta):
            deltas.append(delta)
    return _percentile_interval(deltas, metric(new) - metric(base), confidence)


def _percentile_interval(deltas: list[float], delta: float, confidence: float) -> Interval:
    if not deltas:
        raise ValueError("the metric is undefined on every resample; there are too few rows to compare")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(deltas, [tail, 100 - tail])
    spread = float(np.std(deltas, ddof=1)) if len(deltas) > 1 else float("nan")
    return Interval(delta, float(low), float(high), confidence, len(deltas), spread)
