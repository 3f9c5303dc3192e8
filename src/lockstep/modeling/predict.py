"""Predict: the one function that turns model inputs into scores and labels.

Evaluate, batch scoring and the HTTP API all call `predict_columns`, so a served
prediction is computed exactly as the evaluated one was: the same columns, the
same positive class, the same decision threshold (all from the contract).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..config import Task
from ..contract.model_contract import ModelContract
from ..contract.outputs import proba_column
from ..numerics import one_prediction_worker
from .linear import LinearScorer

Columns = Mapping[str, np.ndarray]

# BLAS kernels take rows in blocks, and a row in the tail block is summed in another order, so a row's
# score could differ in its last bit between a 1-row request and a 64k-row batch. Padding every call
# to a whole number of blocks makes each row's score independent of what it is scored with.
ROW_BLOCK = 16


def predict_frame(
    model: Any, inputs: pd.DataFrame, contract: ModelContract, *, one_worker_set: bool = False
) -> pd.DataFrame:
    """`predict_columns` as a DataFrame (what evaluate writes)."""
    return pd.DataFrame(predict_columns(model, inputs, contract, one_worker_set=one_worker_set))


def predict_columns(
    model: Any, inputs: Columns | pd.DataFrame, contract: ModelContract, *, one_worker_set: bool = False
) -> dict[str, np.ndarray]:
    """Scores and a label per row of `inputs` (the contract's columns, as a DataFrame or arrays by name).

    binary: `score` (probability of the positive class) and `label` (positive
    when score >= the contract's decision threshold); multiclass: one
    `proba_<class>` per class and the most likely `label`; regression: `label`.
    Scored with one joblib worker (`one_prediction_worker`), so a forest gives
    the same bits on every call; `one_worker_set` says the caller has set every
    `n_jobs` to 1 already (the store does, for the models it loads), which
    saves the switch on each call. Not for concurrent calls on one model: the
    server's micro-batcher makes one call at a time. Arrays reach the linear
    fast path as they are; any other model gets a DataFrame of them.
    """
    rows = len(inputs) if isinstance(inputs, pd.DataFrame) else len(inputs[contract.feature_names[0]])
    features = _padded(inputs, contract.feature_names)
    if not isinstance(features, pd.DataFrame) and not isinstance(model, LinearScorer):
        features = pd.DataFrame(features)
    one_worker = contextlib.nullcontext() if one_worker_set else one_prediction_worker(model)
    if contract.task == Task.REGRESSION:
        with one_worker:
            return {"label": model.predict(features)[:rows].astype(float)}
    with one_worker:
        proba = model.predict_proba(features)[:rows]
    classes = model.classes_
    if contract.task == Task.BINARY:
        positive = int(np.flatnonzero(classes == contract.positive_class)[0])
        score = proba[:, positive]
        label = np.where(score >= contract.decision_threshold, classes[positive], classes[1 - positive])
        return {"score": score, "label": label}
    out = {proba_column(label): proba[:, index] for index, label in enumerate(classes)}
    out["label"] = classes[proba.argmax(axis=1)]
    return out


def _padded(inputs: Columns | pd.DataFrame, names: list[str]) -> Columns | pd.DataFrame:
    """The `names` columns of `inputs`, with copies of the first row appended up to a multiple of ROW_BLOCK rows."""
    if isinstance(inputs, pd.DataFrame):
        features = inputs[names]
        extra = -len(features) % ROW_BLOCK
        if not extra or features.empty:
            return features
        return pd.concat([features, features.iloc[[0] * extra]], ignore_index=True)
    extra = -len(inputs[names[0]]) % ROW_BLOCK
    if not extra or not len(inputs[names[0]]):
        return {name: inputs[name] for name in names}
    return {name: np.concatenate([inputs[name], np.repeat(inputs[name][:1], extra)]) for name in names}
