"""The always-valid bounds: their boundary holds at every look, and DeLong's paired standard error is right."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from lockstep.review.bootstrap import paired_bootstrap
from lockstep.rollout.sequential import (
    always_valid_bounds,
    mixture_multiplier,
    paired_auc_difference,
)

from tests.unit.review.test_bootstrap import scored


def test_a_mean_of_noise_crosses_the_boundary_rarely_however_often_it_is_looked_at() -> None:
    """10,000 walks of pure noise, looked at after every step for 1,000 steps: at most 5% ever cross."""
    rng = np.random.default_rng(0)
    walks, steps = 10_000, 1_000
    sums = np.cumsum(rng.standard_normal((walks, steps), dtype=np.float32), axis=1)
    n = np.arange(1, steps + 1)
    multipliers = np.array([mixture_multiplier(int(k), planned=500, confidence=0.95) for k in n])
    crossed_above = (sums / n > multipliers / np.sqrt(n)).any(axis=1).mean()  # mean > its bound, at any look
    assert crossed_above <= 0.05
    # The same looks at a fixed 1.96 (a one-look two-sided 95% interval) cross far more often.
    assert (sums / np.sqrt(n) > 1.96).any(axis=1).mean() > 3 * crossed_above


def test_the_bounds_are_tightest_near_the_planned_count_and_wider_than_one_look() -> None:
    widths = {n: mixture_multiplier(n, 10_000, 0.95) for n in (200, 2_000, 10_000, 50_000, 500_000)}
    assert widths[10_000] == pytest.approx(3.035, abs=0.001)
    assert min(widths, key=widths.get) == 10_000
    assert all(width > 1.96 for width in widths.values())
    bounds = always_valid_bounds(0.02, 0.005, 10_000, 10_000, 0.95)
    assert (bounds.low, bounds.high) == pytest.approx((0.02 - 3.035 * 0.005, 0.02 + 3.035 * 0.005), abs=1e-5)


def test_delong_gives_the_auc_difference_and_the_bootstrap_standard_error() -> None:
    rng = np.random.default_rng(1)
    truth = rng.random(3_000) < 0.1
    sign, shared = np.where(truth, 1.0, -1.0), rng.normal(size=3_000)
    base = np.round(sign * 0.5 + shared + 0.5 * rng.normal(size=3_000), 1)  # rounded: ties count half
    new = sign * 0.6 + shared + 0.5 * rng.normal(size=3_000)
    delta, standard_error = paired_auc_difference(truth, base, new)
    assert delta == pytest.approx(roc_auc_score(truth, new) - roc_auc_score(truth, base), abs=1e-12)
    auc = lambda s: float(roc_auc_score(s.y_true, s.score))  # noqa: E731
    resampled = paired_bootstrap(scored(truth.astype(int), base), scored(truth.astype(int), new), auc, 400, 0.95, 0)
    assert standard_error == pytest.approx(resampled.standard_error, rel=0.15)


def test_one_class_only_has_no_standard_error() -> None:
    assert np.isnan(paired_auc_difference(np.zeros(5, bool), np.arange(5.0), np.arange(5.0))[1])
