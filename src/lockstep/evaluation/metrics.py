"""Metrics: predictions on a table, and the scores that fit the task."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from lockstep.data.validate import FeatureSpec

LOWER_IS_BETTER = frozenset({"rmse", "mae", "median_absolute_error", "log_loss", "brier"})
METRIC_NAMES = {
    "binary": (
        "accuracy",
        "average_precision",
        "balanced_accuracy",
        "brier",
        "f1",
        "log_loss",
        "precision",
        "recall",
        "roc_auc",
    ),
    "multiclass": ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "log_loss", "roc_auc_ovr"),
    "regression": ("mae", "median_absolute_error", "r2", "rmse"),
}


def predict(model: Any, table: pd.DataFrame, features: FeatureSpec, threshold: float = 0.5) -> pd.DataFrame:
    """One row per input row: its id, the truth, the prediction and the class scores."""
    inputs = table[features.columns]
    ids = table[features.id_column] if features.id_column else pd.Series(np.arange(len(table)))
    out = pd.DataFrame({"id": ids.to_numpy(), "y_true": table[features.target].to_numpy()})
    if features.task == "regression":
        out["y_pred"] = model.predict(inputs).astype(float)
        return out
    proba = model.predict_proba(inputs)
    classes = list(model.classes_)
    if features.task == "binary":
        out["score"] = proba[:, 1]
        out["y_pred"] = np.where(proba[:, 1] >= threshold, classes[1], classes[0])
    else:
        for index, label in enumerate(classes):
            out[f"proba_{label}"] = proba[:, index]
        out["y_pred"] = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        out["y_pred"] = out["y_pred"].astype(out["y_true"].dtype)
    return out


def class_scores(predictions: pd.DataFrame) -> np.ndarray:
    """The multiclass probability columns of `predictions`, as a matrix."""
    return predictions[[c for c in predictions.columns if c.startswith("proba_")]].to_numpy()


def compute_metrics(predictions: pd.DataFrame, task: str, classes: list[Any] | None = None) -> dict[str, float]:
    """Score `predictions` (from `predict`); metrics that are undefined come out as NaN."""
    y_true, y_pred = predictions["y_true"].to_numpy(), predictions["y_pred"].to_numpy()
    if task == "regression":
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "median_absolute_error": float(skm.median_absolute_error(y_true, y_pred)),
            "r2": _defined(skm.r2_score, y_true, y_pred) if len(y_true) > 1 else float("nan"),
        }
    scores = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": _quiet(skm.balanced_accuracy_score, y_true, y_pred),
    }
    if task == "binary":
        positive = classes[-1] if classes else y_true.max()
        score = predictions["score"].to_numpy()
        is_positive = (y_true == positive).astype(int)
        said_positive = (y_pred == positive).astype(int)
        scores |= {
            "roc_auc": _defined(skm.roc_auc_score, is_positive, score),
            "average_precision": _defined(skm.average_precision_score, is_positive, score),
            "precision": _quiet(skm.precision_score, is_positive, said_positive, zero_division=0),
            "recall": _quiet(skm.recall_score, is_positive, said_positive, zero_division=0),
            "f1": _quiet(skm.f1_score, is_positive, said_positive, zero_division=0),
            "log_loss": _defined(skm.log_loss, is_positive, score, labels=[0, 1]),
            "brier": float(skm.brier_score_loss(is_positive, score)),
        }
    else:
        proba = class_scores(predictions)
        scores |= {
            "f1_macro": _quiet(skm.f1_score, y_true, y_pred, average="macro", zero_division=0),
            "f1_weighted": _quiet(skm.f1_score, y_true, y_pred, average="weighted", zero_division=0),
            "log_loss": _defined(skm.log_loss, y_true, proba, labels=classes),
            "roc_auc_ovr": _defined(skm.roc_auc_score, y_true, proba, multi_class="ovr", labels=classes),
        }
    return scores


def _quiet(metric: Any, *args: Any, **kwargs: Any) -> float:
    """A metric whose degenerate cases (a class never predicted) warn; silence them."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(metric(*args, **kwargs))


def _defined(metric: Any, *args: Any, **kwargs: Any) -> float:
    """A metric that is undefined on some inputs (one class only): NaN there."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(metric(*args, **kwargs))
        except ValueError:
            return float("nan")
