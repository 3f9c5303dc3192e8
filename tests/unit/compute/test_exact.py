"""Exact sums: the same total for any grouping of the terms, unlike a float sum."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from lockstep.compute.exact import exact_sum


def test_the_sum_is_exact_and_does_not_depend_on_the_grouping() -> None:
    values = np.random.default_rng(0).lognormal(0, 8, 20_000) * np.where(np.arange(20_000) % 3, 1, -1)
    exact = sum((Fraction(float(v)) for v in values), Fraction(0))
    assert exact_sum(values) == exact
    for parts in (2, 7, 64):
        assert sum((exact_sum(part) for part in np.array_split(values, parts)), Fraction(0)) == exact
    floats = {float(sum(np.sum(part) for part in np.array_split(values, parts))) for parts in (1, 7, 64)}
    assert len(floats) > 1  # what it is for: a float sum changes with the grouping


def test_missing_values_are_left_out() -> None:
    assert exact_sum(np.array([0.1, np.nan, 0.2])) == Fraction(0.1) + Fraction(0.2)
