"""Split: a seeded train/test split, stratified on the target for classification."""

from __future__ import annotations

import numpy as np
import pandas as pd


def split_train_test(
    frame: pd.DataFrame, target: str, test_size: float, seed: int, stratify: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, test); rows keep their original order within each part.

    With `stratify`, each class contributes round(test_size * class rows) rows
    to the test set, at least one and never all of them, so both parts keep
    the class balance and every class is in both.
    """
    rng = np.random.default_rng(seed)
    if stratify:
        groups = [np.flatnonzero(frame[target].to_numpy() == label) for label in sorted(frame[target].unique())]
    else:
        groups = [np.arange(len(frame))]
    test_rows = []
    for rows in groups:
        n_test = min(max(1, round(test_size * len(rows))), len(rows) - 1) if len(rows) > 1 else 0
        test_rows.append(rng.permutation(rows)[:n_test])
    is_test = np.zeros(len(frame), dtype=bool)
    is_test[np.concatenate(test_rows)] = True
    return frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True)
