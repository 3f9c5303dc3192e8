"""Plot data: compact curves and tables that DVC renders and Git diffs.

Curves are resampled on a fixed grid, so a plot file has the same size
whether the test set has a thousand rows or a million.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ..config import Task

Rows = list[dict[str, Any]]


def roc_points(is_positive: np.ndarray, score: np.ndarray, n_points: int) -> Rows:
    """True-positive rate on an even grid of false-positive rates."""
    fpr, tpr, _ = skm.roc_curve(is_positive, score)
    grid = np.linspace(0, 1, n_points)
    return [{"fpr": float(x), "tpr": float(y)} for x, y in zip(grid, np.interp(grid, fpr, tpr), strict=True)]


def precision_recall_points(is_positive: np.ndarray, score: np.ndarray, n_points: int) -> Rows:
    """Interpolated precision (the best at that recall or more) on an even recall grid."""
    precision, recall, _ = skm.precision_recall_curve(is_positive, score)
    grid = np.linspace(0, 1, n_points)
    values = [float(precision[recall >= r].max()) for r in grid]  # recall reaches 1, so never empty
    return [{"recall": float(r), "precision": p} for r, p in zip(grid, values, strict=True)]


def calibration_points(is_positive: np.ndarray, score: np.ndarray, n_bins: int) -> Rows:
    """Observed positive rate against mean predicted probability, per probability bin."""
    bins = np.minimum((score * n_bins).astype(int), n_bins - 1)
    rows = []
    for index in range(n_bins):
        in_bin = bins == index
        if in_bin.any():
            rows.append(
                {
                    "predicted": float(score[in_bin].mean()),
                    "observed": float(is_positive[in_bin].mean()),
                    "rows": int(in_bin.sum()),
                }
            )
    return rows


def confusion_counts(y_true: pd.Series, y_pred: pd.Series, classes: list[Any]) -> Rows:
    """Every (actual, predicted) pair of classes with its count, zeros included."""
    counts = pd.crosstab(y_true, y_pred)
    return [
        {
            "actual": str(a),
            "predicted": str(p),
            "count": int(counts.at[a, p]) if a in counts.index and p in counts else 0,
        }
        for a in classes
        for p in classes
    ]


def regression_plots(predictions: pd.DataFrame, max_points: int, n_bins: int, seed: int) -> dict[str, Rows]:
    """The plot tables for a regressor: predicted against actual, and residuals."""
    y_true = predictions["y_true"].to_numpy(dtype=float)
    y_pred = predictions["y_pred"].to_numpy(dtype=float)
    return {
        "predicted_vs_actual": regression_points(y_true, y_pred, max_points, seed),
        "residuals": residual_histogram(y_true, y_pred, n_bins),
    }


def regression_points(y_true: np.ndarray, y_pred: np.ndarray, max_points: int, seed: int) -> Rows:
    """Predicted against actual, on a seeded sample of at most `max_points` rows."""
    rows = np.arange(len(y_true))
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_points, replace=False))
    return [{"actual": float(y_true[i]), "predicted": float(y_pred[i])} for i in rows]


def residual_histogram(y_true: np.ndarray, y_pred: np.ndarray, n_bins: int) -> Rows:
    """How many rows fall in each bin of residual (actual - predicted)."""
    counts, edges = np.histogram(y_true - y_pred, bins=n_bins)
    return [
        {"residual": float((lo + hi) / 2), "rows": int(n)}
        for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
    ]


def classification_plots(
    predictions: pd.DataFrame, classes: list[Any], task: str, n_points: int, n_bins: int
) -> dict[str, Rows]:
    """The plot tables for a classifier: confusion always; ROC, PR and calibration if binary."""
    plots = {"confusion_matrix": confusion_counts(predictions["y_true"], predictions["y_pred"], classes)}
    if task == Task.BINARY:
        is_positive = (predictions["y_true"] == classes[-1]).to_numpy().astype(int)
        score = predictions["score"].to_numpy()
        plots["roc"] = roc_points(is_positive, score, n_points)
        plots["precision_recall"] = precision_recall_points(is_positive, score, n_points)
        plots["calibration"] = calibration_points(is_positive, score, n_bins)
    return plots
