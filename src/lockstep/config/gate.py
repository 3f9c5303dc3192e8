"""`gate:`: the metric a model is judged on, and what it must meet to be merged and promoted."""

from __future__ import annotations

from typing import Annotated

from .base import Section, at_least, rule


class GateConfig(Section):
    """The merge gate's and the rollout's thresholds (read from the base branch in a review)."""

    metric: str
    threshold: float
    max_regression: Annotated[float, rule(lambda drop: drop >= 0, "must not be negative")]
    confidence: Annotated[float, rule(lambda p: 0 < p < 1, "must be between 0 and 1")]
    bootstrap_resamples: Annotated[int, at_least(100)]
