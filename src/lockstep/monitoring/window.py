"""A window's counts against the reference profile, accumulated chunk by chunk.

Everything the drift and quality checks read is a count or a sum, so the counts of two chunks add up to
the counts of both: a window of any size is read one chunk at a time in flat memory, and the result does
not depend on how it was cut.

Numeric: one count per fine bin of the profile's quantile sketch (below the minimum, [q[j-1], q[j]) for
each quantile, equal to the maximum, above it), the missing values, and the distances beyond the training
range summed (the Wasserstein distance's tails). Categorical: one count per category seen in training,
one for unseen categories, and the missing values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..evaluation.profile import CategoricalProfile, NumericProfile, ReferenceProfile


@dataclass(frozen=True)
class NumericCounts:
    """A numeric column's counts: per fine bin, the values and their sum; and the missing values.

    The fine bins (len(quantiles) + 2): below the minimum, one per quantile interval, at the maximum, above it.
    """

    bins: np.ndarray
    sums: np.ndarray
    missing: int

    def __add__(self, other: NumericCounts) -> NumericCounts:
        return NumericCounts(self.bins + other.bins, self.sums + other.sums, self.missing + other.missing)

    @property
    def present(self) -> int:
        """The values that are not missing."""
        return int(self.bins.sum())


@dataclass(frozen=True)
class CategoricalCounts:
    """`counts` has one count per category of the profile's `known` names, then one for unseen names."""

    counts: np.ndarray
    missing: int

    def __add__(self, other: CategoricalCounts) -> CategoricalCounts:
        return CategoricalCounts(self.counts + other.counts, self.missing + other.missing)

    @property
    def present(self) -> int:
        """The values that are not missing."""
        return int(self.counts.sum())


@dataclass(frozen=True)
class WindowCounts:
    """The counts of one window (or one chunk of it), per feature of the profile."""

    numeric: dict[str, NumericCounts]
    categorical: dict[str, CategoricalCounts]

    def __add__(self, other: WindowCounts) -> WindowCounts:
        return WindowCounts(
            {name: part + other.numeric[name] for name, part in self.numeric.items()},
            {name: part + other.categorical[name] for name, part in self.categorical.items()},
        )


def sketch_grid(part: NumericProfile) -> np.ndarray:
    """The quantiles, then the float just above the maximum: `searchsorted(..., "right")` gives the fine bin."""
    quantiles = np.asarray(part.quantiles)
    return np.append(quantiles, np.nextafter(quantiles[-1], np.inf))


def count_numeric(part: NumericProfile, values: np.ndarray) -> NumericCounts:
    """The fine-bin counts of one chunk of a numeric column (NaN is missing)."""
    values = np.asarray(values, dtype=float)
    grid = sketch_grid(part)
    positions = np.searchsorted(grid, values, side="right")  # NaN sorts last: the top bin, taken out below
    bins = np.bincount(positions, minlength=grid.size + 1)
    missing = np.isnan(values)
    sums = np.bincount(positions, weights=np.where(missing, 0.0, values), minlength=grid.size + 1)
    bins[-1] -= np.count_nonzero(missing)
    return NumericCounts(bins.astype(np.int64), sums, int(np.count_nonzero(missing)))


def as_text(values: np.ndarray) -> np.ndarray:
    """Category names as text, missing values kept missing."""
    values = np.asarray(values)
    if values.dtype.kind in "OUT":
        return values.astype(object)
    missing = pd.isna(values)
    return np.where(missing, None, values.astype(str)).astype(object)


def count_categorical(part: CategoricalProfile, values: np.ndarray) -> CategoricalCounts:
    """The per-category counts of one chunk of a categorical column (None or NaN is missing)."""
    values = as_text(values)
    codes = pd.Index(part.known, dtype=object).get_indexer(values)  # -1: unseen or missing
    counts = np.bincount(codes.astype(np.int64) + 1, minlength=len(part.known) + 1)
    missing = int(np.count_nonzero(pd.isna(values)))
    return CategoricalCounts(np.append(counts[1:], counts[0] - missing).astype(np.int64), missing)


def profiled_columns(profile: ReferenceProfile, records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """The profile's features from JSON records (as logged or posted), one array each.

    Numbers as floats (NaN when missing or not a number), categories as objects (None when missing). pandas
    builds the columns in C, twice as fast as a Python loop over the records: reading a large log, the monitor
    spends most of its time here. (`contract.rows.record_columns` is the request check's: raw object columns.)
    """
    frame = pd.DataFrame.from_records(list(records), columns=[*profile.numeric, *profile.categorical])
    columns = {
        name: pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for name in profile.numeric
    }
    return columns | {name: frame[name].astype(object).to_numpy() for name in profile.categorical}


def count_window(profile: ReferenceProfile, columns: Mapping[str, np.ndarray]) -> WindowCounts:
    """The counts of one chunk: `columns` holds one array per feature of the profile, all of one length."""
    missing = set(profile.features) - set(columns)
    if missing:
        raise ValueError(f"the window has no column for {sorted(missing)}")
    return WindowCounts(
        {name: count_numeric(part, columns[name]) for name, part in profile.numeric.items()},
        {name: count_categorical(part, columns[name]) for name, part in profile.categorical.items()},
    )


def count_chunks(profile: ReferenceProfile, chunks: Iterable[Mapping[str, np.ndarray]]) -> WindowCounts:
    """The counts of a window read chunk by chunk (at least one chunk)."""
    total: WindowCounts | None = None
    for chunk in chunks:
        counts = count_window(profile, chunk)
        total = counts if total is None else total + counts
    if total is None:
        raise ValueError("a window needs at least one chunk")
    return total
