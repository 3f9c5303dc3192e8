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
"""

from __future__ import annotations

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


def generate_credit_data(n_rows: int, seed: int) -> pd.DataFrame:
    """Return `n_rows` synthetic loan applications with a `default` label."""
    if n_rows <= 0:
        raise ValueError("n_rows must be positive")
    chunks = []
    for index, start in enumerate(range(0, n_rows, CHUNK_ROWS)):
        size = min(CHUNK_ROWS, n_rows - start)
        rng = np.random.default_rng([seed, index])
        # Always draw a whole chunk, so a row's values never depend on the total.
        chunks.append(_generate_chunk(rng, start, CHUNK_ROWS).head(size))
    return pd.concat(chunks, ignore_index=True)


def _pick(rng: np.random.Generator, options: tuple[str, ...], probabilities: list[float], size: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=probabilities)]


def _generate_chunk(rng: np.random.Generator, start: int, size: int) -> pd.DataFrame:
    features = _draw_applicants(rng, size)
    default = _draw_labels(rng, features)
    for column, rate in MISSING_RATES.items():
        values = features[column].astype(float)
        values[rng.random(size) < rate] = np.nan
        features[column] = values
    loan_id = np.char.add("L", np.char.zfill(np.arange(start + 1, start + size + 1).astype(str), 9))
    return pd.DataFrame({"loan_id": loan_id.astype(object), **features, "default": default})


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


def _draw_labels(rng: np.random.Generator, f: dict[str, np.ndarray]) -> np.ndarray:
    grit = rng.normal(0, 1, len(f["age"]))
    logit = (
        -2.95
        + 1.8 * (f["credit_utilization"] - 0.3)
        + 0.45 * np.minimum(f["late_payments_2y"], 4)
        + 1.6 * (f["debt_to_income"] - 0.3)
        - 0.45 * np.log(f["annual_income"] / 50_000)
        + 0.30 * np.log(f["loan_amount"] / 10_000)
        - 0.05 * np.minimum(f["credit_history_years"], 20)
        + 0.5 * ((f["age"] - 45) / 15) ** 2
        + np.vectorize(EMPLOYMENT_EFFECT.get)(f["employment_type"])
        + np.vectorize(HOME_EFFECT.get)(f["home_ownership"])
        + np.vectorize(PURPOSE_EFFECT.get)(f["loan_purpose"])
        + 0.25 * (f["loan_term_months"] == 60)
        + 0.8 * ((f["credit_utilization"] > 0.8) & (f["late_payments_2y"] > 0))
        - 0.9 * grit
    )
    return (rng.random(len(logit)) < 1 / (1 + np.exp(-logit))).astype(np.int64)
