"""Metrics: predictions on a table, and the scores that fit the task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ..config import Task, resolve_metric
from ..contract.model_contract import ModelContract
from ..contract.outputs import SCORE, proba_column
from ..errors import PipelineError
from ..modeling.predict import predict_frame

LOWER_IS_BETTER = frozenset({"rmse", "mae", "median_absolute_error", "log_loss", "brier"})


def predict(model: Any, table: pd.DataFrame, contract: ModelContract) -> pd.DataFrame:
    """One row per input row: its id, the truth, the class scores and the prediction (`predict_frame`'s label)."""
    ids = table[contract.id_column] if contract.id_column else pd.Series(np.arange(len(table)))
    out = pd.DataFrame({"id": ids.to_numpy(), "y_true": table[contract.target].to_numpy()})
    scored = predict_frame(model, table, contract).rename(columns={"label": "y_pred"})
    out = pd.concat([out, scored], axis=1)
    if contract.task == Task.MULTICLASS:
        out["y_pred"] = out["y_pred"].astype(out["y_true"].dtype)
    return out


@dataclass(frozen=True)
class Scored:
    """Predictions as arrays, ready to score (and to resample row by row)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    score: np.ndarray | None  # binary: probability of the positive class
    proba: np.ndarray | None  # multiclass: one column per class
    classes: list[Any]

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        task: str,
        classes: list[Any] | None = None,
        truth: str = "y_true",
        predicted: str = "y_pred",
    ) -> Scored:
        """The arrays a task's metrics need, from a frame of truths, predictions and score columns.

        The one reader of score columns: evaluate's predictions (`y_true`, `y_pred`) and a
        rollout's logged rows (`outcome`, `label`) both come through here.
        """
        y_true = frame[truth].to_numpy()
        classes = list(classes if classes is not None else sorted(set(y_true)))
        score = frame[SCORE].to_numpy(dtype=float) if task == Task.BINARY else None
        columns = [proba_column(label) for label in classes]
        proba = frame[columns].to_numpy(dtype=float) if task == Task.MULTICLASS else None
        return cls(y_true, frame[predicted].to_numpy(), score, proba, classes)

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
    Task.BINARY: {
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
    Task.MULTICLASS: {
        "accuracy": lambda s: float(skm.accuracy_score(s.y_true, s.y_pred)),
        "balanced_accuracy": lambda s: _quiet(skm.balanced_accuracy_score, s.y_true, s.y_pred),
        "f1_macro": lambda s: _quiet(skm.f1_score, s.y_true, s.y_pred, average="macro", zero_division=0),
        "f1_weighted": lambda s: _quiet(skm.f1_score, s.y_true, s.y_pred, average="weighted", zero_division=0),
        "log_loss": lambda s: _defined(skm.log_loss, s.y_true, s.proba, labels=s.classes),
        "roc_auc_ovr": lambda s: _defined(skm.roc_auc_score, s.y_true, s.proba, multi_class="ovr", labels=s.classes),
    },
    Task.REGRESSION: {
        "rmse": lambda s: float(np.sqrt(skm.mean_squared_error(s.y_true, s.y_pred))),
        "mae": lambda s: float(skm.mean_absolute_error(s.y_true, s.y_pred)),
        "median_absolute_error": lambda s: float(skm.median_absolute_error(s.y_true, s.y_pred)),
        "r2": lambda s: _defined(skm.r2_score, s.y_true, s.y_pred) if len(s.y_true) > 1 else float("nan"),
    },
}
METRIC_NAMES = {task: tuple(sorted(functions)) for task, functions in METRICS.items()}


def compute_metrics(predictions: pd.DataFrame, task: str, classes: list[Any] | None = None) -> dict[str, float]:
    """Score `predictions` (from `predict`); metrics that are undefined come out as NaN."""
    scored = Scored.from_frame(predictions, task, classes)
    return {name: metric(scored) for name, metric in METRICS[task].items()}


def metric_for(name: str, task: str, key: str) -> tuple[str, MetricFunction]:
    """The metric `name` stands for in `task` (`auto`: the task's default) and its function.

    The one check of a metric's name against a task; the error names the setting (`key`) and the choices.
    """
    metric = resolve_metric(name, task) if task in METRICS else name
    functions = METRICS.get(task)
    if functions is None:
        raise PipelineError(f"the task {task!r} is none of {', '.join(METRICS)}: {key} cannot be scored")
    if metric not in functions:
        raise PipelineError(f"{key} {metric!r} is not a {task} metric; use one of {', '.join(sorted(functions))}")
    return metric, functions[metric]


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
