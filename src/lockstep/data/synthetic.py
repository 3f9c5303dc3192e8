"""A deterministic generator of a realistic credit-default table.

Each row is a loan application; the target `default` says whether the borrower
defaulted. Applicant features are drawn first, then the label from a logistic
model of them (the log-odds below), plus an unobserved `grit` term that no
feature carries, so that even a perfect model cannot reach AUC 1:

    logit = -2.95
            + 1.8 * (credit_utilization - 0.3)
            + 0.45 * min(late_payments_2y, 4)
            + 1.6 * (debt_to_income - 0.3)
            - 0.45 * ln(annual_income / 50,000)
            + 0.30 * ln(loan_amount / 10,000)
            - 0.05 * min(credit_history_years, 20)
            + 0.5 * ((age - 45) / 15) ** 2          # young and old are riskier
            + employment effect (unemployed +1.0, contract +0.35,
              self_employed +0.25, retired +0.1, salaried 0)
            + home effect (rent +0.2, other +0.3, own -0.2, mortgage 0)
            + purpose effect (small_business +0.5, medical +0.3, education +0.2,
              credit_card -0.1, car -0.15, others 0)
            + 0.25 if loan_term_months == 60
            + 0.8 if credit_utilization > 0.8 and late_payments_2y > 0
            - 0.9 * grit                            # grit ~ N(0, 1), unobserved
    default ~ Bernoulli(sigmoid(logit))

Labels are drawn from the true values; afterwards a few percent of income,
employment length, utilization and debt-to-income are hidden at random, as
gaps in application data are. About 11% of loans default. The interaction and the U-shape in age are what
let tree models beat a linear one. Rows are made in fixed-size chunks, each
from its own seed, so the first N rows are the same whatever the total.

`Drift` bends the table in known ways (a shifted feature, a new category, a
missing-value spike, another positive rate, a flipped term of the log-odds),
for simulated traffic (`simulate.py`). Its draws come from a stream of their
own: without drift, the table is exactly what it was before drift existed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

CHUNK_ROWS = 100_000

EMPLOYMENT_TYPES = ("salaried", "self_employed", "contract", "unemployed", "retired")
HOME_OWNERSHIP = ("mortgage", "rent", "own", "other")
LOAN_PURPOSES = (
    "debt_consolidation",
    "credit_card",
    "home_improvement",
    "car",
    "medical",
    "small_business",
    "education",
    "other",
)

EMPLOYMENT_EFFECT = {"salaried": 0.0, "self_employed": 0.25, "contract": 0.35, "unemployed": 1.0, "retired": 0.1}
HOME_EFFECT = {"mortgage": 0.0, "rent": 0.2, "own": -0.2, "other": 0.3}
PURPOSE_EFFECT = {
    "debt_consolidation": 0.0,
    "credit_card": -0.1,
    "home_improvement": 0.0,
    "car": -0.15,
    "medical": 0.3,
    "small_business": 0.5,
    "education": 0.2,
    "other": 0.0,
}
INCOME_BY_EMPLOYMENT = {"salaried": 1.0, "self_employed": 1.15, "contract": 0.9, "unemployed": 0.35, "retired": 0.6}
MISSING_RATES = {
    "annual_income": 0.03,
    "employment_length_years": 0.04,
    "credit_utilization": 0.05,
    "debt_to_income": 0.02,
}


INTERCEPT = -2.95
# The log-odds' terms, by name, in the order of the formula above (a concept drift flips one's sign).
LOGIT_TERMS: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {
    "credit_utilization": lambda f: 1.8 * (f["credit_utilization"] - 0.3),
    "late_payments_2y": lambda f: 0.45 * np.minimum(f["late_payments_2y"], 4),
    "debt_to_income": lambda f: 1.6 * (f["debt_to_income"] - 0.3),
    "annual_income": lambda f: -0.45 * np.log(f["annual_income"] / 50_000),
    "loan_amount": lambda f: 0.30 * np.log(f["loan_amount"] / 10_000),
    "credit_history_years": lambda f: -0.05 * np.minimum(f["credit_history_years"], 20),
    "age": lambda f: 0.5 * ((f["age"] - 45) / 15) ** 2,
    "employment_type": lambda f: np.vectorize(EMPLOYMENT_EFFECT.get)(f["employment_type"]),
    "home_ownership": lambda f: np.vectorize(HOME_EFFECT.get)(f["home_ownership"]),
    "loan_purpose": lambda f: np.vectorize(PURPOSE_EFFECT.get)(f["loan_purpose"]),
    "loan_term_months": lambda f: 0.25 * (f["loan_term_months"] == 60),
    "utilization_with_late_payments": lambda f: 0.8 * ((f["credit_utilization"] > 0.8) & (f["late_payments_2y"] > 0)),
}
NUMERIC_FEATURES = (
    "age",
    "annual_income",
    "employment_length_years",
    "credit_history_years",
    "num_open_accounts",
    "credit_utilization",
    "late_payments_2y",
    "loan_amount",
    "loan_term_months",
    "debt_to_income",
    "interest_rate",
)
CATEGORIES = {"employment_type": EMPLOYMENT_TYPES, "home_ownership": HOME_OWNERSHIP, "loan_purpose": LOAN_PURPOSES}
DRIFT_STREAM = 1  # each drift setting draws from a stream of its own, so the undrifted draws stay the same


@dataclass(frozen=True)
class Drift:
    """Known drift in the generated rows; the default changes nothing.

    - `shift`: feature -> k. The numeric feature moves by k of its standard
      deviations (in its whole chunk; clipped at its smallest value, rounded for
      integers) before the labels are drawn: P(x) changes, P(y|x) does not.
    - `new_category`: feature -> (value, share). That share of rows gets a
      category the schema does not allow, after the labels are drawn.
    - `missing`: feature -> share. That share of rows loses the value, on top of
      the usual gaps, after the labels are drawn.
    - `prior`: the positive rate. The intercept moves until the chunk's mean
      probability is this rate (no resampling): P(x) is unchanged and the
      log-odds move by the same amount on every row.
    - `concept`: a key of LOGIT_TERMS whose term changes sign: P(y|x) changes,
      P(x) does not.
    """

    shift: Mapping[str, float] = field(default_factory=dict)
    new_category: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    missing: Mapping[str, float] = field(default_factory=dict)
    prior: float | None = None
    concept: str | None = None

    def __post_init__(self) -> None:
        features = (*NUMERIC_FEATURES, *CATEGORIES)
        _known("shift", self.shift, NUMERIC_FEATURES)
        _known("new_category", self.new_category, tuple(CATEGORIES))
        _known("missing", self.missing, features)
        for name, (value, share) in self.new_category.items():
            if value in CATEGORIES[name]:
                raise ValueError(f"new_category: {value!r} is already a category of {name}")
            _share("new_category", share)
        for share in self.missing.values():
            _share("missing", share)
        if any(not np.isfinite(k) for k in self.shift.values()):
            raise ValueError("shift: k must be a finite number of standard deviations")
        if self.prior is not None and not 0 < self.prior < 1:
            raise ValueError(f"prior: {self.prior} is not a rate between 0 and 1")
        if self.concept is not None and self.concept not in LOGIT_TERMS:
            raise ValueError(f"concept: {self.concept!r} is not a term; choose from {', '.join(LOGIT_TERMS)}")


def _known(setting: str, names: Mapping[str, object], allowed: tuple[str, ...]) -> None:
    if unknown := [name for name in names if name not in allowed]:
        raise ValueError(f"{setting}: {unknown[0]!r} is not one of {', '.join(allowed)}")


def _share(setting: str, share: float) -> None:
    if not 0 < share <= 1:
        raise ValueError(f"{setting}: the share {share} is not in (0, 1]")


NO_DRIFT = Drift()


def generate_credit_data(n_rows: int, seed: int, drift: Drift = NO_DRIFT) -> pd.DataFrame:
    """Return `n_rows` synthetic loan applications with a `default` label, drifted as `drift` says."""
    if n_rows <= 0:
        raise ValueError("n_rows must be positive")
    chunks = []
    for index, start in enumerate(range(0, n_rows, CHUNK_ROWS)):
        size = min(CHUNK_ROWS, n_rows - start)
        rng = np.random.default_rng([seed, index])
        # Always draw a whole chunk, so a row's values never depend on the total.
        chunks.append(_generate_chunk(rng, start, CHUNK_ROWS, drift, [seed, index]).head(size))
    return pd.concat(chunks, ignore_index=True)


def generate_rows(start: int, stop: int, seed: int) -> pd.DataFrame:
    """Rows [start, stop) of `generate_credit_data(n_rows >= stop, seed)`, making only the chunks that hold them."""
    chunks = []
    for index in range(start // CHUNK_ROWS, -(-stop // CHUNK_ROWS)):
        first = index * CHUNK_ROWS
        chunk = _generate_chunk(np.random.default_rng([seed, index]), first, CHUNK_ROWS, NO_DRIFT, [seed, index])
        chunks.append(chunk.iloc[max(start - first, 0) : min(stop - first, CHUNK_ROWS)])
    return pd.concat(chunks, ignore_index=True)


def _pick(rng: np.random.Generator, options: tuple[str, ...], probabilities: list[float], size: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=probabilities)]


def _generate_chunk(rng: np.random.Generator, start: int, size: int, drift: Drift, chunk: list[int]) -> pd.DataFrame:
    features: dict[str, Any] = _draw_applicants(rng, size)
    for name, k in drift.shift.items():
        features[name] = _shifted(features[name], k, _stream(chunk, "shift", name))
    default = _draw_labels(rng, features, drift)
    for column, rate in MISSING_RATES.items():
        values = features[column].astype(float)
        values[rng.random(size) < rate] = np.nan
        features[column] = values
    for name, (value, share) in drift.new_category.items():
        chosen = _stream(chunk, "new_category", name).random(size) < share
        features[name] = np.where(chosen, value, features[name]).astype(object)
    for name, share in drift.missing.items():
        features[name] = _hidden(features[name], _stream(chunk, "missing", name).random(size) < share)
    loan_id = np.char.add("L", np.char.zfill(np.arange(start + 1, start + size + 1).astype(str), 9))
    return pd.DataFrame({"loan_id": loan_id.astype(object), **features, "default": default})


def _stream(chunk: list[int], setting: str, name: str) -> np.random.Generator:
    """The random numbers of one drift setting of one feature in one chunk (`chunk`: its seed and index)."""
    return np.random.default_rng([*chunk, DRIFT_STREAM, zlib.crc32(f"{setting}:{name}".encode())])


def _shifted(values: np.ndarray, k: float, rng: np.random.Generator) -> np.ndarray:
    """`values` moved by `k` standard deviations, no lower than their minimum.

    Integers stay integers, rounded up or down at random so that the mean moves by k standard deviations.
    """
    moved = np.maximum(values + k * values.std(), values.min())
    return np.floor(moved + rng.random(len(moved))).astype(values.dtype) if values.dtype.kind == "i" else moved


def _hidden(values: np.ndarray, hide: np.ndarray) -> Any:
    """`values` with the `hide` rows missing; integers become pandas' nullable integers."""
    if values.dtype.kind == "i":
        return pd.arrays.IntegerArray(values, hide)
    kept = values.astype(object if values.dtype.kind == "O" else float)
    kept[hide] = None if values.dtype.kind == "O" else np.nan
    return kept


def _intercept_shift(logit: np.ndarray, rate: float) -> float:
    """The shift of `logit` after which the mean probability is `rate` (bisection: deterministic)."""
    low, high = -30.0, 30.0
    for _ in range(80):
        middle = (low + high) / 2
        if np.mean(1 / (1 + np.exp(-(logit + middle)))) < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _draw_applicants(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    age = np.clip(np.rint(rng.normal(42, 13, size)), 18, 85).astype(np.int64)
    employment = _pick(rng, EMPLOYMENT_TYPES, [0.64, 0.13, 0.12, 0.06, 0.05], size)
    retire = (age >= 63) & (rng.random(size) < 0.6)
    employment[retire] = "retired"
    employment[(age < 63) & (employment == "retired")] = "salaried"

    income_factor = np.vectorize(INCOME_BY_EMPLOYMENT.get)(employment)
    income = np.maximum(np.round(rng.lognormal(np.log(52_000), 0.5, size) * income_factor, -2), 1_000)
    employed = ~np.isin(employment, ("unemployed", "retired"))
    employment_length = np.where(employed, np.minimum(age - 18, rng.exponential(6.0, size)), 0.0)

    home = _pick(rng, HOME_OWNERSHIP, [0.40, 0.42, 0.15, 0.03], size)
    older_owner = (age > 50) & (rng.random(size) < 0.3)
    home[older_owner] = "own"

    credit_history = np.round(np.maximum(age - 18 - rng.uniform(0, 6, size), 0) * rng.uniform(0.5, 1.0, size), 1)
    open_accounts = rng.poisson(3 + credit_history / 5).astype(np.int64)
    utilization = np.clip(rng.beta(2.0, 4.5, size) * 1.15, 0, 1.5)
    late_payments = rng.poisson(0.25 + 0.8 * (utilization > 0.6), size).astype(np.int64)

    purpose = _pick(rng, LOAN_PURPOSES, [0.38, 0.2, 0.1, 0.09, 0.06, 0.05, 0.04, 0.08], size)
    loan_amount = np.clip(
        np.round(rng.lognormal(np.log(10_000), 0.6, size) * np.sqrt(income / 52_000), -2), 500, 60_000
    )
    term = np.where(rng.random(size) < np.clip(loan_amount / 40_000, 0.1, 0.8), 60, 36).astype(np.int64)
    existing_debt_ratio = rng.beta(2.0, 6.0, size) * 0.8
    monthly_payment = loan_amount / term
    debt_to_income = np.round(np.clip(existing_debt_ratio + 12 * monthly_payment / income, 0, 3), 4)
    risk_grade = 1.5 * utilization + 0.4 * late_payments + 1.2 * debt_to_income + rng.normal(0, 0.3, size)
    interest_rate = np.round(np.clip(0.05 + 0.035 * risk_grade + 0.01 * (term == 60), 0.03, 0.36), 4)

    return {
        "age": age,
        "annual_income": income,
        "employment_type": employment,
        "employment_length_years": np.round(employment_length, 1),
        "home_ownership": home,
        "credit_history_years": credit_history,
        "num_open_accounts": open_accounts,
        "credit_utilization": np.round(utilization, 4),
        "late_payments_2y": late_payments,
        "loan_purpose": purpose,
        "loan_amount": loan_amount,
        "loan_term_months": term,
        "debt_to_income": debt_to_income,
        "interest_rate": interest_rate,
    }


def _draw_labels(rng: np.random.Generator, f: dict[str, np.ndarray], drift: Drift = NO_DRIFT) -> np.ndarray:
    grit = rng.normal(0, 1, len(f["age"]))
    logit = INTERCEPT
    for name, term in LOGIT_TERMS.items():  # summed in the documented order: the default's bits depend on it
        logit = logit - term(f) if name == drift.concept else logit + term(f)
    logit = logit - 0.9 * grit
    if drift.prior is not None:
        logit = logit + _intercept_shift(logit, drift.prior)
    return (rng.random(len(logit)) < 1 / (1 + np.exp(-logit))).astype(np.int64)
