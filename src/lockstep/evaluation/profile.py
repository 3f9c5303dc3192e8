"""The reference profile: what the monitor knows of the training data, computed once (NannyML's `fit`).

Per numeric feature: a sketch of 1,001 quantiles (minimum to maximum, enough for a Wasserstein distance
without the training rows), about 10 coarse bins cut at its deciles (deduplicated; the outer bins are open),
the bins' frequencies, mean, std and the missing rate. Per categorical feature: the frequencies of the
categories above `min_category_share`, one "other" bucket for the rest, the rare names (so that a rare
category is not reported as unseen), and the missing rate. Frequencies count the non-missing rows.

The profile round-trips through plain JSON-able dicts: `to_json` is deterministic (sorted keys, floats as
Python writes them, which read back to the same floats).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SKETCH_QUANTILES = 1001  # probabilities 0, 0.001, ..., 1: both ends are the training minimum and maximum
COARSE_BINS = 10
MIN_CATEGORY_SHARE = 0.005


def label_text(value: Any) -> str | None:
    """A predicted label as text, one spelling per class: 1, 1.0 and numpy's 1 are all "1" (None: missing).

    Evaluate casts its labels to the target's type and a served model may return the estimator's floats, so
    the profile and the monitor both name each class through this.
    """
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer) or (isinstance(value, float | np.floating) and float(value).is_integer()):
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class NumericProfile:
    """One numeric column of the training data.

    `edges` cut the coarse bins: bin i holds edges[i-1] <= x < edges[i] (x < edges[0] for the first, x >=
    edges[-1] for the last). Each edge is a point of `quantiles`, so the window's fine counts sum into them.
    """

    rows: int
    missing_rate: float
    minimum: float
    maximum: float
    mean: float
    std: float
    quantiles: tuple[float, ...]
    edges: tuple[float, ...]
    frequencies: tuple[float, ...]

    @property
    def edge_positions(self) -> np.ndarray:
        """The index in `quantiles` of each edge (its first occurrence)."""
        return np.searchsorted(np.asarray(self.quantiles), np.asarray(self.edges), side="left")

    @property
    def scale(self) -> float:
        """What a distance in the column's units is divided by: the std, or 1 for a constant column."""
        return self.std if self.std > 0 else 1.0


@dataclass(frozen=True)
class CategoricalProfile:
    """One categorical column: `frequencies` has one entry per name in `categories`, then the "other" bucket."""

    rows: int
    missing_rate: float
    categories: tuple[str, ...]
    frequencies: tuple[float, ...]
    rare: tuple[str, ...]

    @property
    def known(self) -> tuple[str, ...]:
        """Every category seen in training: the kept ones, then the rare ones folded into "other"."""
        return self.categories + self.rare


@dataclass(frozen=True)
class ReferenceProfile:
    """The training data's profile, per feature, and the model's scores and predicted labels on the test set.

    The label-free estimate's reference (`calibration.py`) sits beside it in the file evaluate writes
    (`reference.py`).
    """

    numeric: dict[str, NumericProfile] = field(default_factory=dict)
    categorical: dict[str, CategoricalProfile] = field(default_factory=dict)
    score: NumericProfile | None = None
    label: CategoricalProfile | None = None  # classification only: every predicted class kept, as text

    @property
    def features(self) -> list[str]:
        """Every feature's name, sorted."""
        return sorted([*self.numeric, *self.categorical])

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, dicts, strings and numbers."""
        return {
            "numeric": {name: asdict(part) for name, part in self.numeric.items()},
            "categorical": {name: asdict(part) for name, part in self.categorical.items()},
            "score": None if self.score is None else asdict(self.score),
            "label": None if self.label is None else asdict(self.label),
        }

    def to_json(self) -> str:
        """The profile as JSON text, byte for byte the same for the same profile."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        """The profile `to_dict` gave."""
        score, label = data.get("score"), data.get("label")
        return cls(
            numeric={name: _numeric_from(part) for name, part in data["numeric"].items()},
            categorical={name: _categorical_from(part) for name, part in data["categorical"].items()},
            score=None if score is None else _numeric_from(score),
            label=None if label is None else _categorical_from(label),
        )

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        """The profile `to_json` gave."""
        return cls.from_dict(json.loads(text))


def _numeric_from(part: Mapping[str, Any]) -> NumericProfile:
    tuples = {"quantiles", "edges", "frequencies"}
    return NumericProfile(**{key: tuple(value) if key in tuples else value for key, value in part.items()})


def _categorical_from(part: Mapping[str, Any]) -> CategoricalProfile:
    tuples = {"categories", "frequencies", "rare"}
    return CategoricalProfile(**{key: tuple(value) if key in tuples else value for key, value in part.items()})


def fit_numeric(values: np.ndarray, bins: int = COARSE_BINS) -> NumericProfile:
    """The profile of one numeric column (NaN is missing)."""
    values = np.asarray(values, dtype=float)
    present = values[~np.isnan(values)]
    if present.size == 0:
        raise ValueError("a numeric column with no values cannot be profiled")
    quantiles = np.quantile(present, np.linspace(0.0, 1.0, SKETCH_QUANTILES))
    positions = np.rint(np.linspace(0, SKETCH_QUANTILES - 1, bins + 1)[1:-1]).astype(int)
    edges = np.unique(quantiles[positions])
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=edges.size + 1)
    return NumericProfile(
        rows=int(values.size),
        missing_rate=float(1 - present.size / values.size),
        minimum=float(quantiles[0]),
        maximum=float(quantiles[-1]),
        mean=float(present.mean()),
        std=float(present.std()),
        quantiles=tuple(map(float, quantiles)),
        edges=tuple(map(float, edges)),
        frequencies=tuple(map(float, counts / present.size)),
    )


def fit_categorical(values: np.ndarray, min_share: float = MIN_CATEGORY_SHARE) -> CategoricalProfile:
    """The profile of one categorical column (None or NaN is missing); names are compared as text."""
    series = pd.Series(values, dtype=object)
    missing = series.isna()
    present = series[~missing].astype(str)
    if present.empty:
        raise ValueError("a categorical column with no values cannot be profiled")
    shares = present.value_counts(normalize=True)
    kept = sorted(name for name, share in shares.items() if share >= min_share)
    rare = sorted(name for name, share in shares.items() if share < min_share)
    return CategoricalProfile(
        rows=int(series.size),
        missing_rate=float(missing.mean()),
        categories=tuple(kept),
        frequencies=(*(float(shares[name]) for name in kept), float(shares[rare].sum()) if rare else 0.0),
        rare=tuple(rare),
    )


def fit_profile(
    columns: Mapping[str, np.ndarray],
    numeric: set[str] | frozenset[str],
    score: np.ndarray | None = None,
    label: np.ndarray | None = None,
    bins: int = COARSE_BINS,
    min_category_share: float = MIN_CATEGORY_SHARE,
) -> ReferenceProfile:
    """The reference profile of the training columns: those named in `numeric` as numbers, the rest as categories.

    `score`: the model's scores on the test set (one column: the positive class's, or a regressor's prediction).
    `label`: a classifier's predicted labels on the test set.
    """
    unknown = set(numeric) - set(columns)
    if unknown:
        raise ValueError(f"numeric features not among the columns: {sorted(unknown)}")
    return ReferenceProfile(
        numeric={name: fit_numeric(columns[name], bins) for name in sorted(columns) if name in numeric},
        categorical={
            name: fit_categorical(columns[name], min_category_share) for name in sorted(columns) if name not in numeric
        },
        score=None if score is None else fit_numeric(score, bins),
        label=None if label is None else fit_categorical(label, min_share=0.0),
    )
