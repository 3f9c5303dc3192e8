"""Feature importance: how much a metric drops when a column is shuffled.

Permutation importance works for any model in the Pipeline and speaks of the
raw columns a user knows, not of one-hot-encoded ones. It scores with the same
metric functions as the evaluation, so every metric is supported; evaluate.importance_metric
picks one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from ..contract.features import FeatureSpec
from ..contract.model_contract import ModelContract
from .metrics import LOWER_IS_BETTER, METRICS, Scored, predict


def feature_importance(
    model: Any,
    table: pd.DataFrame,
    features: FeatureSpec,
    contract: ModelContract,
    metric: str,
    repeats: int,
    max_rows: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Mean loss in `metric` per shuffled column, largest first, on at most `max_rows` rows.

    Each row is `{"feature": column, importance_label(metric): value}`.
    """
    sample = table
    if len(table) > max_rows:
        sample = table.sample(n=max_rows, random_state=seed).sort_index()
    score = METRICS[features.task][metric]
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    unnamed = replace(contract, id_column=None)  # the sample carries no id column

    def scorer(estimator: Any, inputs: pd.DataFrame, target: pd.Series) -> float:
        frame = inputs.assign(**{features.target: target.to_numpy()})
        predictions = predict(estimator, frame, unnamed)
        return sign * score(Scored.from_frame(predictions, features.task, features.classes))

    result = permutation_importance(
        model,
        sample[features.columns],
        sample[features.target],
        scoring=scorer,
        n_repeats=repeats,
        random_state=seed,
        n_jobs=1,
    )
    drops = np.nan_to_num(np.asarray(result.importances_mean))  # a metric undefined on the sample: no signal
    ranked = sorted(zip(features.columns, drops.tolist(), strict=True), key=lambda pair: (-pair[1], pair[0]))
    label = importance_label(metric)
    # The value comes last: dvc.yaml leaves `y` out, so DVC plots the last field and names the axis after it.
    return [{"feature": name, label: value} for name, value in ranked]


def importance_label(metric: str) -> str:
    """What an importance value measures: how much worse `metric` gets when the column is shuffled."""
    change = "rise" if metric in LOWER_IS_BETTER else "drop"
    return f"{change} in {metric} when the column is shuffled"


def importance_value(row: dict[str, Any]) -> float:
    """The value of one row of the importance table (its field is named after the metric)."""
    return next(value for field, value in row.items() if field != "feature")
