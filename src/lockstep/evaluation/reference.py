"""The monitoring reference: what the monitor compares a window with, fitted once by evaluate, next to the model.

Evaluate writes it because it is the stage that holds both halves: the training rows (the drift profile of
each feature, numeric or categorical as the contract says) and the model's scores and labels on the test set
(the score distribution, and the label-free estimate's calibration). So the monitor never reads the training
data. A calibration the test set cannot back is not an error: the reference records why (`refusal`), and the
monitor reports the estimate as refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config import NUMERIC_DTYPES, Task
from ..contract.model_contract import ModelContract
from ..contract.outputs import LABEL, SCORE, proba_column
from .calibration import Reference, fit_reference
from .profile import ReferenceProfile, fit_profile, label_text

REFERENCE_FORMAT = 1


@dataclass(frozen=True)
class MonitoringReference:
    """The drift profile of the training data and the label-free estimate's reference, as one file."""

    profile: ReferenceProfile
    estimate: Reference

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, dicts, strings and numbers."""
        return {"format": REFERENCE_FORMAT, "profile": self.profile.to_dict(), "estimate": self.estimate.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitoringReference:
        """The reference that `to_dict` gave (a ValueError for another format)."""
        if data.get("format") != REFERENCE_FORMAT:
            raise ValueError(f"reference format {data.get('format')!r}, not {REFERENCE_FORMAT}")
        return cls(ReferenceProfile.from_dict(data["profile"]), Reference.from_dict(data["estimate"]))

    @classmethod
    def from_json(cls, text: str | bytes) -> MonitoringReference:
        """The reference in a file evaluate wrote."""
        return cls.from_dict(json.loads(text))


def profiled_scores(frame: pd.DataFrame, contract: ModelContract) -> np.ndarray:
    """The one score the profile follows, from a frame of model outputs (`predict_columns`' names).

    Binary: the positive class's score; multiclass: the top probability; regression: the prediction. The
    monitor takes the same from the prediction log.
    """
    if contract.task == Task.BINARY:
        return frame[SCORE].to_numpy(dtype=float)
    if contract.task == Task.MULTICLASS:
        return frame[[proba_column(c) for c in contract.classes or []]].to_numpy(dtype=float).max(axis=1)
    return frame[LABEL].to_numpy(dtype=float)


def estimate_reference(predictions: pd.DataFrame, contract: ModelContract) -> Reference:
    """The label-free estimate's reference from the test set's predictions (`y_true` and the score columns).

    It never raises on what the test set holds: a calibration it cannot back is a reference that says why.
    """
    task, classes = Task(contract.task), list(contract.classes or [])
    threshold = contract.decision_threshold if contract.decision_threshold is not None else 0.5
    truth = predictions["y_true"].to_numpy()
    try:
        if task == Task.BINARY:
            labels = (truth == classes[-1]).astype(int)
            return fit_reference(task, predictions[SCORE].to_numpy(dtype=float), labels, classes, threshold)
        if task == Task.MULTICLASS:
            position = {value: index for index, value in enumerate(classes)}
            labels = np.array([position[value] for value in truth])
            scores = predictions[[proba_column(c) for c in classes]].to_numpy(dtype=float)
            return fit_reference(task, scores, labels, classes, threshold)
        return fit_reference(task, predictions["y_pred"].to_numpy(dtype=float), threshold=threshold)
    except (ValueError, KeyError) as exc:
        reason = f"the test set cannot calibrate the model: {exc}"
        return Reference(task, tuple(map(str, classes)), (), (), len(truth), float(threshold), reason)


def fit_monitoring_reference(
    train: pd.DataFrame, predictions: pd.DataFrame, contract: ModelContract
) -> MonitoringReference:
    """The training columns' profile, with the test-set scores, and the estimate's reference."""
    numeric = {column.name for column in contract.columns if column.dtype in NUMERIC_DTYPES}
    columns = {
        name: train[name].to_numpy(dtype=float, na_value=np.nan) if name in numeric else train[name].to_numpy(object)
        for name in contract.feature_names
    }
    scores = profiled_scores(predictions.rename(columns={"y_pred": LABEL}), contract)
    labels = None
    if contract.task != Task.REGRESSION:
        labels = np.array([label_text(value) for value in predictions["y_pred"]], dtype=object)
    profile = fit_profile(columns, numeric, score=scores, label=labels)
    return MonitoringReference(profile, estimate_reference(predictions, contract))
