"""Split: a seeded train/test split (stratified for classification), by time, or by a hash of each row's id."""

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


# pandas' row hash (SipHash) keyed per use, so the split and the training sample are independent.
SPLIT_KEY = "split-by-row-id!"
SAMPLE_KEY = "train-sample-key"
HASH_RANGE = 2**64


def row_hashes(frame: pd.DataFrame, id_column: str | None, key: str) -> np.ndarray:
    """A 64-bit hash of each row's id, or of its whole content when there is no id column."""
    rows = frame[id_column] if id_column else frame
    return pd.util.hash_pandas_object(rows, index=False, hash_key=key).to_numpy()


def below_share(hashes: np.ndarray, share: float) -> np.ndarray:
    """Which hashes fall in the lowest `share` of the hash range: about that share of rows, chosen by id."""
    return hashes < np.uint64(min(int(share * HASH_RANGE), HASH_RANGE - 1))


def is_test_row(frame: pd.DataFrame, id_column: str | None, test_size: float) -> np.ndarray:
    """The hash split's test rows: a function of each row's id alone, the same in any partition."""
    return below_share(row_hashes(frame, id_column, SPLIT_KEY), test_size)


def split_by_hash(frame: pd.DataFrame, id_column: str | None, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, test): about `test_size` of the rows test, by a hash of their id; each part keeps the order.

    No seed and no view of the other rows: a row lands on the same side in any partition, on any
    number of workers, and when rows are added (compute=dask splits this way).
    """
    is_test = is_test_row(frame, id_column, test_size)
    return frame[~is_test].reset_index(drop=True), frame[is_test].reset_index(drop=True)


def in_training_sample(frame: pd.DataFrame, id_column: str | None, train_rows: int, max_rows: int) -> np.ndarray:
    """Which of `frame`'s rows train: all of them up to `max_rows` training rows, else about that many, by id hash.

    `train_rows` counts the whole training set, so each partition picks its rows on its own.
    """
    if train_rows <= max_rows:
        return np.ones(len(frame), dtype=bool)
    return below_share(row_hashes(frame, id_column, SAMPLE_KEY), max_rows / train_rows)


def training_sample(frame: pd.DataFrame, id_column: str | None, max_rows: int) -> pd.DataFrame:
    """The rows of the whole training set `frame` that the model learns from (`in_training_sample`)."""
    if len(frame) <= max_rows:
        return frame
    return frame[in_training_sample(frame, id_column, len(frame), max_rows)].reset_index(drop=True)
