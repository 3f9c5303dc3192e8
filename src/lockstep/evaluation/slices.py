"""Slices: the metrics per value of each categorical feature.

A model can improve on average while getting worse for one group of rows;
slice metrics make that visible in review.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..config import Task
from ..contract.features import FeatureSpec
from .metrics import compute_metrics

SLICE_METRICS = {
    Task.BINARY: ("roc_auc", "accuracy", "recall"),
    Task.MULTICLASS: ("accuracy", "f1_macro"),
    Task.REGRESSION: ("rmse", "mae"),
}
MISSING_LABEL = "(missing)"


def slice_metrics(
    table: pd.DataFrame, predictions: pd.DataFrame, features: FeatureSpec, min_rows: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """{feature: {value: {"rows": n, metric: value}}} for slices of at least `min_rows` rows."""
    keep = SLICE_METRICS[features.task]
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for column in features.categorical:
        values = table[column].astype(object).where(table[column].notna(), MISSING_LABEL).astype(str).to_numpy()
        per_value = {}
        for value in sorted(set(values)):
            rows = values == value
            if rows.sum() < min_rows:
                continue
            scores = compute_metrics(predictions[rows].reset_index(drop=True), features.task, features.classes)
            per_value[value] = {"rows": int(rows.sum())} | {name: scores[name] for name in keep}
        result[column] = per_value
    return result
