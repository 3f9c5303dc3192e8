"""Metrics: predictions on a table, and the scores that fit the task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ..contract.model_contract import ModelContract
from ..modeling.predict import predict_frame

LOWER_IS_BETTER = frozenset({"rmse", "mae", "median_absolute_error", "log_loss", "brier"})


def predict(model: Any, table: pd.DataFrame, contract: ModelContract) -> pd.DataFrame:
    """One row per input row: its id, the truth, the class scores and the prediction (`predict_frame`'s label)."""
    ids = table[contract.id_column] if contract.id_column else pd.Series(np.arange(len(table)))
    out = pd.DataFrame({"id": ids.to_numpy(), "y_true": table[contract.target].to_numpy()})
    scored = predict_frame(model, table, contract).rename(columns={"label": "y_pred"})
    out = pd.concat([out, scored], axis=1)
    if contract.task == "multiclass":
        out["y_pred"] = out["y_pred"].astype(out["y_true"].dtype)
    return out


def class_scores(predictions: pd.DataFrame) -> np.ndarray:
    """The multiclass probability columns of `predictions`, as a matrix."""
    return predictions[[c for c in predictions.columns if c.startswith("proba_")]].to_numpy()


@dataclass(frozen=True)
class Scored:
    """Predictions as arrays, ready to score (and to resample row by row)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    score: np.ndarray | None  # binary: probability of the positive class
    proba: np.ndarray | None  # multiclass: one column per class
    classes: list[Any]

    @classmethod
    def from_predictions(cls, predictions: pd.DataFrame, task: str, classes: list[Any] | None = None) -> Scored:
        """Take the arrays a task's metrics need from a `predict` frame."""
        score = predictions["score"].to_numpy() if task == "binary" else None
        proba = class_scores(predictions) if task == "multiclass" else None
        y_true = predictions["y_true"].to_numpy()
        return cls(y_true, predictions["y_pred"].to_numpy(), score, proba, list(classes or sorted(set(y_true))))

    def take(self, rows: np.ndarray) -> Scored:
        """The same predictions for `rows` only (a bootstrap resample)."""
        pick = lambda a: None if a is None else a[rows]  # noqa: E731
        return Scored(self.y_true[rows], self.y_pred[rows], pick(self.score), pick(self.proba), self.classes)

    @property
    def is_positive(self) -> np.ndarray:
        """Binary truth as 0/1; the positive class is the last (see FeatureSpec.classes)."""
        return (self.y_true == self.classes[-1]).astype(int)

    @property
    def said_positive(self) -> np.ndarray:
        """Binary predictions as 0/1."""
        return (self.y_pred == self.classes[-1]).astype(int)


MetricFunction = Callable[[Scored], float]
METRICS: dict[str, dict[str, MetricFunction]] = {
    "binary": {
        "accuracy": lambda s: float(skm.accuracy_score(s.y_true, s.y_pred)),
        "balanced_accuracy": lambda s: _quiet(skm.balanced_accuracy_score, s.y_true, s.y_pred),
        "roc_auc": lambda s: roc_auc(s.is_positive, s.score),
        "average_precision": lambda s: _defined(skm.average_precision_score, s.is_positive, s.score),
        "precision": lambda s: _quiet(skm.precision_score, s.is_positive, s.said_positive, zero_division=0),
        "recall": lambda s: _quiet(skm.recall_score, s.is_positive, s.said_positive, zero_division=0),
        "f1": lambda s: _quiet(skm.f1_score, s.is_positive, s.said_positive, zero_division=0),
        "log_loss": lambda s: _defined(skm.log_loss, s.is_positive, s.score, labels=[0, 1]),
        "brier": lambda s: float(skm.brier_score_loss(s.is_positive, s.score)),
    },
    "multiclass": {
        "accuracy": lambda s: float(skm.accuracy_score(s.y_true, s.y_pred)),
        "balanced_accuracy": lambda s: _quiet(skm.balanced_accuracy_score, s.y_true, s.y_pred),
        "f1_macro": lambda s: _quiet(skm.f1_score, s.y_true, s.y_pred, average="macro", zero_division=0),
        "f1_weighted": lambda s: _quiet(skm.f1_score, s.y_true, s.y_pred, average="weighted", zero_division=0),
        "log_loss": lambda s: _defined(skm.log_loss, s.y_true, s.proba, labels=s.classes),
        "roc_auc_ovr": lambda s: _defined(skm.roc_auc_score, s.y_true, s.proba, multi_class="ovr", labels=s.classes),
    },
    "regression": {
        "rmse": lambda s: float(np.sqrt(skm.mean_squared_error(s.y_true, s.y_pred))),
        "mae": lambda s: float(skm.mean_absolute_error(s.y_true, s.y_pred)),
        "median_absolute_error": lambda s: float(skm.median_absolute_error(s.y_true, s.y_pred)),
        "r2": lambda s: _defined(skm.r2_score, s.y_true, s.y_pred) if len(s.y_true) > 1 else float("nan"),
    },
}
METRIC_NAMES = {task: tuple(sorted(functions)) for task, functions in METRICS.items()}


def compute_metrics(predictions: pd.DataFrame, task: str, classes: list[Any] | None = None) -> dict[str, float]:
    """Score `predictions` (from `predict`); metrics that are undefined come out as NaN."""
    scored = Scored.from_predictions(predictions, task, classes)
    return {name: metric(scored) for name, metric in METRICS[task].items()}


def roc_auc(is_positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank-sum identity (ties count half); NaN when one class is absent.

    Equal to scikit-learn's roc_auc_score, at a tenth of its cost on small
    inputs, which is what makes a 1,000-round bootstrap take a second.
    """
    from scipy.stats import rankdata

    positives = int(is_positive.sum())
    negatives = len(is_positive) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[is_positive == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


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
