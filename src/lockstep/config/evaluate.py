"""`evaluate:`: what the evaluate stage computes, and how much of it it keeps."""

from __future__ import annotations

from typing import Annotated

from .base import Section, at_least, rule


class EvaluateConfig(Section):
    """Metrics, curves, slices and importance settings."""

    importance_metric: str
    decision_threshold: Annotated[float, rule(lambda p: 0 < p < 1, "must be between 0 and 1")]
    curve_points: Annotated[int, at_least(2)]
    calibration_bins: Annotated[int, at_least(2)]
    scatter_points: Annotated[int, at_least(1)]
    histogram_bins: Annotated[int, at_least(1)]
    slice_min_rows: Annotated[int, at_least(1)]
    importance_repeats: Annotated[int, at_least(1)]
    importance_max_rows: Annotated[int, at_least(1)]
