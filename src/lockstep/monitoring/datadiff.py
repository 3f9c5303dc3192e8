"""Data diff: what changed between two versions of a dataset, with the monitor's own drift test.

Rows are matched by the id column when both versions have it, else by their
content. Every column both versions share is profiled on the old version
(`fit_profile`, as evaluate profiles training data) and counted on the new one,
then `drift_table` decides as it does for a serving window: a distance above
its floor and a Holm-corrected test that agree. A data update's pull request
shows it, so a reviewer sees how the training data moved before reading the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..evaluation.profile import fit_profile
from .drift import drift_table
from .window import count_window


@dataclass(frozen=True)
class DataDiff:
    """Rows added, removed and kept (`matched_by`: the id column, or `content`), and the drift per column."""

    added: int
    removed: int
    kept: int
    matched_by: str
    drift: pd.DataFrame


def row_keys(frame: pd.DataFrame, id_column: str | None) -> pd.Series:
    """What identifies each row: its id, or a hash of its values."""
    if id_column is not None:
        return frame[id_column].astype(str)
    return pd.util.hash_pandas_object(frame, index=False).astype(str)


def _columns(frame: pd.DataFrame, names: list[str], numeric: set[str]) -> dict[str, np.ndarray]:
    return {
        name: pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if name in numeric
        else frame[name].astype(object).to_numpy()
        for name in names
    }


def data_diff(before: pd.DataFrame, after: pd.DataFrame, id_column: str | None = None) -> DataDiff:
    """Compare two versions of a table: its rows by id (or content), its shared columns by drift."""
    by_id = id_column is not None and id_column in before.columns and id_column in after.columns
    shared = [str(name) for name in before.columns if name in after.columns]
    old = set(row_keys(before[shared] if not by_id else before, id_column if by_id else None))
    new = set(row_keys(after[shared] if not by_id else after, id_column if by_id else None))
    compared = [name for name in shared if name != id_column]
    numeric = {
        name
        for name in compared
        if pd.api.types.is_numeric_dtype(before[name]) and not pd.api.types.is_bool_dtype(before[name])
    }
    profile = fit_profile(_columns(before, compared, numeric), numeric)
    drift = drift_table(profile, count_window(profile, _columns(after, compared, numeric)))
    return DataDiff(len(new - old), len(old - new), len(old & new), id_column if by_id else "content", drift)
