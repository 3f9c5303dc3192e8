"""Columns like the embedded credit data's kinds, for the drift tests: numbers (some with missing values,
some integers) and categories."""

from __future__ import annotations

import numpy as np

from lockstep.evaluation.profile import ReferenceProfile, fit_profile

NUMERIC = frozenset({"income", "age", "late_payments"})
CATEGORIES = ["salaried", "self_employed", "contract", "retired"]
SHARES = [0.55, 0.25, 0.15, 0.05]


def columns(rows: int, seed: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    """`rows` rows; `shift` moves income by that many of its standard deviations (0.5, by construction)."""
    rng = np.random.default_rng(seed)
    income = rng.normal(10.0, 0.5, rows) + 0.5 * shift
    income[rng.random(rows) < 0.02] = np.nan
    return {
        "income": income,
        "age": rng.integers(18, 80, rows).astype(float),
        "late_payments": rng.poisson(0.7, rows).astype(float),
        "employment": rng.choice(np.array(CATEGORIES, dtype=object), rows, p=SHARES),
    }


def profile(rows: int = 20_000, seed: int = 0) -> ReferenceProfile:
    return fit_profile(columns(rows, seed), NUMERIC)
