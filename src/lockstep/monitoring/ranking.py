"""The classification metrics the monitor follows, computed from weights: 0/1 labels, expected counts, draws.

One function per task turns a window's scores into `metrics(positive weights, row weights)`, so the same code
gives the realized value (labels), the label-free estimate (calibrated probabilities), and their bootstrap
draws, many draws at once. Ties count as scikit-learn counts them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..config.enums import Task
from ..evaluation.calibration import Reference


def ranking_metrics(positives: np.ndarray, negatives: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """ROC AUC and average precision, (draws, 2), from positive and negative weights (draws, n).

    The rows are sorted by score, highest first, and `cuts` ends each run of equal scores, so ties count as
    scikit-learn counts them. Weights are 0/1 labels, expected counts (calibrated probabilities), or bootstrap counts.
    """
    tps = np.cumsum(positives, axis=1)[:, cuts]
    fps = np.cumsum(negatives, axis=1)[:, cuts]
    total_p, total_n = tps[:, -1:], fps[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = np.hstack([np.zeros_like(total_p), tps / total_p])
        fpr = np.hstack([np.zeros_like(total_n), fps / total_n])
        auc = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
        precision = np.where(tps + fps > 0, tps / (tps + fps), 1.0)
        ap = np.sum(np.diff(tpr, axis=1) * precision, axis=1)
    return np.column_stack([auc, ap])


def ranking_order(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows' order by score, highest first, and the last position of each run of equal scores."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    return order, np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]


def binary_metrics(scores: np.ndarray, threshold: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(roc_auc, average_precision, accuracy) per draw, from positive weights and row weights (draws, n)."""
    order, cuts = ranking_order(scores)
    predicted = scores >= threshold

    def metrics(positives: np.ndarray, weights: np.ndarray) -> np.ndarray:
        ranking = ranking_metrics(positives[:, order], (weights - positives)[:, order], cuts)
        right = np.where(predicted, positives, weights - positives)
        return np.column_stack([ranking, right.sum(axis=1) / weights.sum(axis=1)])

    return metrics


def multiclass_metrics(scores: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(roc_auc_ovr, accuracy) per draw, from per-class positive weights (draws, n, k) and row weights (draws, n)."""
    orders = [ranking_order(scores[:, c]) for c in range(scores.shape[1])]
    predicted = scores.argmax(axis=1)

    def metrics(positives: np.ndarray, weights: np.ndarray) -> np.ndarray:
        aucs = [
            ranking_metrics(positives[:, order, c], (weights - positives[:, :, c])[:, order], cuts)[:, 0]
            for c, (order, cuts) in enumerate(orders)
        ]
        right = positives[:, np.arange(len(predicted)), predicted]
        return np.column_stack([np.mean(aucs, axis=0), right.sum(axis=1) / weights.sum(axis=1)])

    return metrics


def metric_names(task: Task) -> tuple[str, ...]:
    """The metrics a task's window gets, in the order `metrics_for` computes them."""
    return ("roc_auc", "average_precision", "accuracy") if task == Task.BINARY else ("roc_auc_ovr", "accuracy")


def metrics_for(reference: Reference, scores: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The task's metrics on these scores, as a function of (positive weights, row weights)."""
    if reference.task == Task.BINARY:
        return binary_metrics(scores, reference.threshold)
    return multiclass_metrics(scores)
