"""Data quality and feature drift of one window against the reference profile (NannyML's `estimate`).

A feature drifts only when two things agree:
- its distance from the reference is above an effect-size floor: the Wasserstein distance over the
  reference std for a number (a shift of the mean by k std has distance k), the Jensen-Shannon distance
  (base 2, in [0, 1]) of the category shares for a category. A large window finds any difference
  significant; the floor keeps a difference too small to matter from alarming.
- a chi-square test of homogeneity on the coarse bins (2 x bins: the training rows against the window's)
  is significant after Holm's correction across the window's features. Two-sample, because the reference
  is a sample too: a window larger than the training set would otherwise find the training sample's own
  noise. Holm rather than Benjamini-Hochberg: an alarm is raised per window, so the error to bound is
  the chance that any feature of a clean window alarms (the family-wise error), under any dependence
  between features; Benjamini-Hochberg bounds the share of false findings among findings instead.

Results are tables, one row per feature per window (and per check, for quality), with the value, its
threshold and whether it alerted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

# chi2.sf and rel_entr themselves: importing scipy.stats or scipy.spatial would cost the command a second.
from scipy.special import chdtrc, rel_entr

from ..evaluation.profile import CategoricalProfile, NumericProfile, ReferenceProfile
from .window import CategoricalCounts, NumericCounts, WindowCounts


@dataclass(frozen=True)
class Thresholds:
    """The settings of the checks, with their defaults (a config group passes them)."""

    numeric_floor: float = 0.1  # Wasserstein distance / reference std: a tenth of a std
    categorical_floor: float = 0.05  # Jensen-Shannon distance: e.g. one category's share from 30% to 35%
    alpha: float = 0.01  # family-wise, over the window's features (Holm)
    max_missing_increase: float = 0.05  # the window's missing rate above the reference's
    max_out_of_range: float = 0.01  # share of a number's values outside the training minimum and maximum
    max_unseen: float = 0.01  # share of a category's values not seen in training


@dataclass(frozen=True)
class Score:
    """One feature's drift statistics, before the correction across features."""

    kind: str
    rows: int
    distance_name: str
    distance: float
    floor: float
    p_value: float


def chi_square_p(reference: np.ndarray, window: np.ndarray) -> float:
    """The p-value of the chi-square test that two rows of counts come from one distribution (1 if untestable)."""
    table = np.vstack([reference, window]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    totals = table.sum(axis=1)
    if table.shape[1] < 2 or (totals == 0).any():
        return 1.0
    expected = np.outer(totals, table.sum(axis=0)) / totals.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return float(chdtrc(table.shape[1] - 1, statistic))


def reference_counts(frequencies: tuple[float, ...], rows: int, missing_rate: float) -> np.ndarray:
    """The training rows per bin, back from the profile's frequencies."""
    return np.rint(np.asarray(frequencies) * round(rows * (1 - missing_rate)))


def coarse_counts(part: NumericProfile, counts: NumericCounts) -> np.ndarray:
    """The window's counts in the coarse bins, summed from its fine bins (each edge is a quantile of the sketch)."""
    fine = np.arange(counts.bins.size) - 1  # fine bin j holds x >= q[j-1]; x >= edge e iff j - 1 >= e's position
    coarse = np.searchsorted(part.edge_positions, fine, side="right")
    return np.bincount(coarse, weights=counts.bins, minlength=len(part.edges) + 1)


def wasserstein(part: NumericProfile, counts: NumericCounts) -> float:
    """The Wasserstein-1 distance from the window to the reference, over the reference std.

    The reference's CDF is linear between the sketch's quantiles. The window's values in a sketch interval
    are spread evenly over it; or, where the reference has an atom at its left end (a value that fills
    several quantiles, as integers do), put at their mean. Values beyond the training range count their
    summed distance from it.
    """
    present = counts.present
    if present == 0:
        return float("nan")
    quantiles = np.asarray(part.quantiles)
    size = quantiles.size
    width = np.diff(quantiles)
    share = np.cumsum(counts.bins) / present  # share[j]: of the values < q[j], for j < size
    low, high = share[: size - 1], share[1:size]
    ref_low, ref_high = np.arange(size - 1) / (size - 1), np.arange(1, size) / (size - 1)
    spread = width * linear_gap(low - ref_low, high - ref_high)
    # At their mean: the step from `low` to `high` at `at`, where the reference has reached `ref_at`.
    inside, sums = counts.bins[1:size], counts.sums[1:size]
    with np.errstate(invalid="ignore", divide="ignore"):
        at = np.where(inside > 0, sums / np.maximum(inside, 1), quantiles[:-1])
        fraction = np.where(width > 0, (at - quantiles[:-1]) / width, 0.0)
    ref_at = ref_low + fraction * (ref_high - ref_low)
    stepped = (at - quantiles[:-1]) * linear_gap(low - ref_low, low - ref_at) + (quantiles[1:] - at) * linear_gap(
        high - ref_at, high - ref_high
    )
    atom = np.append(False, quantiles[1:-1] == quantiles[:-2])  # per interval k: q[k] repeats q[k-1]
    inner = float(np.where(atom, stepped, spread).sum())
    bins, sums = counts.bins, counts.sums
    tails = (bins[0] * part.minimum - sums[0]) + (sums[-1] - bins[-1] * part.maximum)
    return (inner + tails / present) / part.scale


def linear_gap(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The mean of |d| over an interval where d goes linearly from `left` to `right`."""
    size = np.abs(left) + np.abs(right)
    crossing = np.sign(left) * np.sign(right) < 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = (left**2 + right**2) / (2 * size)
    return np.where(crossing, mixed, size / 2)


def numeric_score(part: NumericProfile, counts: NumericCounts, thresholds: Thresholds) -> Score:
    """A number's distance (Wasserstein over std) and test (chi-square on the coarse bins)."""
    p_value = chi_square_p(
        reference_counts(part.frequencies, part.rows, part.missing_rate), coarse_counts(part, counts)
    )
    distance = wasserstein(part, counts)
    return Score("numeric", counts.present, "wasserstein/std", distance, thresholds.numeric_floor, p_value)


def category_shares(part: CategoricalProfile, counts: CategoricalCounts) -> np.ndarray:
    """The window's counts per kept category, then "other" (rare and unseen names)."""
    kept = len(part.categories)
    return np.append(counts.counts[:kept], counts.counts[kept:].sum())


def categorical_score(part: CategoricalProfile, counts: CategoricalCounts, thresholds: Thresholds) -> Score:
    """A category's distance (Jensen-Shannon) and test (chi-square on the kept categories and "other")."""
    window = category_shares(part, counts)
    reference = reference_counts(part.frequencies, part.rows, part.missing_rate)
    p_value = chi_square_p(reference, window)
    distance = jensen_shannon(np.asarray(part.frequencies), window) if window.sum() else float("nan")
    return Score("categorical", counts.present, "jensen_shannon", distance, thresholds.categorical_floor, p_value)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """scipy.spatial.distance.jensenshannon(p, q, base=2), as it computes it (each side normalized to sum 1)."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    p, q = p / p.sum(), q / q.sum()
    middle = (p + q) / 2
    return float(np.sqrt((rel_entr(p, middle).sum() + rel_entr(q, middle).sum()) / 2 / np.log(2)))


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN counts as 1)."""
    p_values = np.nan_to_num(np.asarray(p_values, dtype=float), nan=1.0)
    order = np.argsort(p_values, kind="stable")
    factors = p_values.size - np.arange(p_values.size)
    adjusted = np.empty_like(p_values)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(factors * p_values[order]))
    return adjusted


def drift_table(
    profile: ReferenceProfile, counts: WindowCounts, window: str = "", thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """One row per feature: its distance against the floor, its test, and whether it drifted (both agree)."""
    thresholds = thresholds or Thresholds()
    scores = {name: numeric_score(part, counts.numeric[name], thresholds) for name, part in profile.numeric.items()}
    scores |= {
        name: categorical_score(part, counts.categorical[name], thresholds)
        for name, part in profile.categorical.items()
    }
    names = sorted(scores)
    table = pd.DataFrame([asdict(scores[name]) for name in names])
    table.insert(0, "feature", names)
    table.insert(0, "window", window)
    table["p_adjusted"] = holm(table["p_value"].to_numpy())
    table["alpha"] = thresholds.alpha
    table["significant"] = table["p_adjusted"] < thresholds.alpha
    table["drift"] = table["significant"] & (table["distance"] > table["floor"])
    return table


def missing_row(name: str, missing: int, present: int, reference_missing: float, thresholds: Thresholds) -> dict:
    """The missing-rate check of one feature."""
    rows = missing + present
    rate = missing / rows if rows else float("nan")
    limit = reference_missing + thresholds.max_missing_increase
    return {"feature": name, "check": "missing_rate", "value": rate, "reference": reference_missing, "threshold": limit}


def quality_table(
    profile: ReferenceProfile, counts: WindowCounts, window: str = "", thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """One row per feature and check: missing rate, out-of-range share (numbers), unseen share (categories)."""
    thresholds = thresholds or Thresholds()
    rows = []
    for name, part in profile.numeric.items():
        found = counts.numeric[name]
        rows.append(missing_row(name, found.missing, found.present, part.missing_rate, thresholds))
        outside = (found.bins[0] + found.bins[-1]) / found.present if found.present else float("nan")
        rows.append(
            {"feature": name, "check": "out_of_range_share", "value": outside, "reference": 0.0}
            | {"threshold": thresholds.max_out_of_range}
        )
    for name, part in profile.categorical.items():
        found = counts.categorical[name]
        rows.append(missing_row(name, found.missing, found.present, part.missing_rate, thresholds))
        unseen = found.counts[-1] / found.present if found.present else float("nan")
        rows.append(
            {"feature": name, "check": "unseen_share", "value": unseen, "reference": 0.0}
            | {"threshold": thresholds.max_unseen}
        )
    table = pd.DataFrame(rows).sort_values(["feature", "check"], kind="stable", ignore_index=True)
    table.insert(0, "window", window)
    table["alert"] = table["value"] > table["threshold"]
    return table


@dataclass(frozen=True)
class WindowReport:
    """The two tables of one window."""

    drift: pd.DataFrame
    quality: pd.DataFrame

    @property
    def alerted(self) -> bool:
        """Whether any feature drifted or any quality check alerted."""
        return bool(self.drift["drift"].any() or self.quality["alert"].any())


def check_window(
    profile: ReferenceProfile, counts: WindowCounts, window: str = "", thresholds: Thresholds | None = None
) -> WindowReport:
    """Data quality and drift of one window's counts."""
    return WindowReport(
        drift_table(profile, counts, window, thresholds), quality_table(profile, counts, window, thresholds)
    )
