"""Split: a seeded train/test split, stratified on the target for classification; or by time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import PipelineError


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


def split_by_time(frame: pd.DataFrame, time_column: str, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, test): the latest round(test_size * rows) rows by `time_column` test, the earlier ones train.

    Rows with equal times keep the file's order, and each part keeps the file's order, so the
    split depends on the data alone. A missing or unreadable time is refused with one line.
    """
    if time_column not in frame.columns:
        raise PipelineError(f"split.time_column {time_column!r} is not a column of the data; name its timestamp column")
    times = pd.to_datetime(frame[time_column], errors="coerce", utc=True, format="mixed")
    unreadable = times.isna()
    if unreadable.any():
        row = int(np.flatnonzero(unreadable.to_numpy())[0])
        raise PipelineError(
            f"split.time_column {time_column!r}: {int(unreadable.sum())} row(s) have no readable time "
            f"(the first is row {row}, value {frame[time_column].iloc[row]!r}); fill them or drop those rows"
        )
    order = np.argsort(times.to_numpy(), kind="stable")
    n_test = min(max(1, round(test_size * len(frame))), len(frame) - 1)
    is_test = np.zeros(len(frame), dtype=bool)
    is_test[order[len(frame) - n_test :]] = True
    return frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True)
