"""Always-valid bounds on the candidate's gain: they hold however often the report looks.

The rollout report runs every hour, and acts on the first look whose bound
clears. A fixed-sample interval (the bootstrap's) is right at one look only;
acted on at 300, it promotes a candidate that is no better far more often
than `gate.confidence` says. So the decision uses a confidence sequence: the
normal-mixture boundary (Robbins 1970; Howard, Ramdas, McAuliffe and Sekhon,
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Annals of
Statistics 2021, eq. 14), applied to the metric's estimate and its standard
error as in the asymptotic confidence sequences of Waudby-Smith, Arnold, Wu,
Lindon and Ramdas ("Time-uniform central limit theory and asymptotic
confidence sequences", Annals of Statistics 2024). Its chance of ever crossing
is at most `1 - confidence` on each side, at any number of looks.

It is widest early and narrows as outcomes come; `planned` is where it is
tightest (the mixture's width is tuned to it), and it holds before and after.
The price of looking at will: at the planned count, with 95% confidence, it
lies 3.0 standard errors from the estimate, where a one-look two-sided 95%
interval lies 1.96.

The estimate is always a difference on the same rows (both versions score every
labelled row), so its standard error is paired: DeLong's for ROC AUC (through
the rows' placement values), and the paired bootstrap's for every other metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bounds:
    """The always-valid interval of the candidate's gain (candidate - prod, in the metric's own direction)."""

    delta: float
    low: float
    high: float
    standard_error: float
    observations: int
    confidence: float


def mixture_multiplier(observations: int, planned: int, confidence: float) -> float:
    """How many standard errors the always-valid bound lies from the estimate after `observations`.

    The normal mixture's boundary for a standardized sum, sqrt((n + rho) log((n + rho) / (rho alpha^2))),
    divided by sqrt(n); `rho` tunes it to be tightest at `planned` (Howard et al. 2021, eq. 14 and its optimum).
    """
    alpha = 1 - confidence
    rho = planned / (2 * math.log(1 / alpha) + math.log(1 + 2 * math.log(1 / alpha)))
    n = max(observations, 1)
    return math.sqrt((1 + rho / n) * math.log((n + rho) / (rho * alpha * alpha)))


def always_valid_bounds(
    delta: float, standard_error: float, observations: int, planned: int, confidence: float
) -> Bounds:
    """The estimate `delta` +- the mixture multiplier times its standard error."""
    half = mixture_multiplier(observations, planned, confidence) * standard_error
    return Bounds(delta, delta - half, delta + half, standard_error, observations, confidence)


def paired_auc_difference(is_positive: np.ndarray, base: np.ndarray, new: np.ndarray) -> tuple[float, float]:
    """ROC AUC of `new` minus that of `base` on the same rows, and its DeLong standard error.

    Uses the placement values (DeLong, DeLong and Clarke-Pearson 1988): a positive's is the share of
    negatives it outscores, a negative's the share of positives that outscore it (a tie counts half).
    NaN, NaN if a class is missing.
    """
    positive = np.asarray(is_positive, dtype=bool)
    m, n = int(positive.sum()), int((~positive).sum())
    if m == 0 or n == 0:
        return math.nan, math.nan
    base_pos, base_neg = _placements(np.asarray(base, dtype=float), positive, m, n)
    new_pos, new_neg = _placements(np.asarray(new, dtype=float), positive, m, n)
    delta = float(new_pos.mean() - base_pos.mean())
    variance = _variance(new_pos - base_pos) / m + _variance(new_neg - base_neg) / n
    return delta, math.sqrt(variance)


def _placements(scores: np.ndarray, positive: np.ndarray, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The positives' and the negatives' placement values, each in row order; one sort, then running counts."""
    order = np.argsort(scores, kind="stable")
    ordered, is_positive = scores[order], positive[order]
    new_run = np.r_[True, ordered[1:] != ordered[:-1]]  # where each run of equal scores begins
    starts = np.flatnonzero(new_run)
    run = np.cumsum(new_run) - 1
    left, right = starts[run], np.r_[starts[1:], len(ordered)][run]
    negatives = np.r_[0, np.cumsum(~is_positive)]  # negatives[k]: among the first k in score order
    positives = np.r_[0, np.cumsum(is_positive)]
    below = (negatives[left] + (negatives[right] - negatives[left]) / 2) / n
    above = (m - positives[right] + (positives[right] - positives[left]) / 2) / m
    placement = np.empty(len(scores))
    placement[order] = np.where(is_positive, below, above)
    return placement[positive], placement[~positive]


def _variance(values: np.ndarray) -> float:
    return float(values.var(ddof=1)) if len(values) > 1 else 0.0
