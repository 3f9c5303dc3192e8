"""Slices: the metrics per value of each categorical feature.

A model can improve on average while getting worse for one group of rows;
slice metrics make that visible in review.
"""

from __future__ import annotations

from typing import Any

import numpy as np
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
        names, rows_of = slice_labels(table[column])
        per_value = {}
        for index, value in enumerate(names):
            rows = rows_of == index
            if rows.sum() < min_rows:
                continue
            scores = compute_metrics(predictions[rows].reset_index(drop=True), features.task, features.classes)
            per_value[value] = {"rows": int(rows.sum())} | {name: scores[name] for name in keep}
        result[column] = per_value
    return result


def slice_labels(values: pd.Series) -> tuple[list[str], np.ndarray]:
    """The sorted slice names of a column (its values as text, MISSING_LABEL for gaps) and each row's name's index.

    Codes, not a text copy of the column: a test set of tens of millions of rows (compute=dask) stays small.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [str(value) for value in uniques] + [MISSING_LABEL]  # code -1 (a gap) is the last entry
    names = sorted(set(texts if (codes == -1).any() else texts[:-1]))
    position = {name: index for index, name in enumerate(names)}
    return names, np.array([position.get(text, -1) for text in texts])[codes]
