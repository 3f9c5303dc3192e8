"""Feature importance: how much the primary metric drops when a column is shuffled.

Permutation importance works for any model in the Pipeline and speaks of the
raw columns a user knows, not of one-hot-encoded ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from lockstep.data.validate import FeatureSpec

SCORERS = {
    "roc_auc": "roc_auc",
    "average_precision": "average_precision",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "f1": "f1",
    "f1_macro": "f1_macro",
    "f1_weighted": "f1_weighted",
    "log_loss": "neg_log_loss",
    "brier": "neg_brier_score",
    "roc_auc_ovr": "roc_auc_ovr",
    "r2": "r2",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "median_absolute_error": "neg_median_absolute_error",
}


def feature_importance(
    model: Any, table: pd.DataFrame, features: FeatureSpec, metric: str, repeats: int, max_rows: int, seed: int
) -> list[dict[str, Any]]:
    """Mean drop in `metric` per shuffled column, largest first, on at most `max_rows` rows."""
    sample = table
    if len(table) > max_rows:
        sample = table.sample(n=max_rows, random_state=seed).sort_index()
    result = permutation_importance(
        model,
        sample[features.columns],
        sample[features.target],
        scoring=SCORERS[metric],
        n_repeats=repeats,
        random_state=seed,
        n_jobs=1,
    )
    # Losses are negated scorers in scikit-learn, so a drop in score is always positive.
    drops = np.asarray(result.importances_mean)
    rows = [{"feature": name, "importance": float(value)} for name, value in zip(features.columns, drops, strict=True)]
    return sorted(rows, key=lambda row: (-row["importance"], row["feature"]))
