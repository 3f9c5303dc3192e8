"""The generator's drift settings: each kind changes what it says and nothing else; no drift changes nothing."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from lockstep.data.synthetic import (
    CHUNK_ROWS,
    MISSING_RATES,
    Drift,
    generate_credit_data,
)

ROWS = 20_000
SEED = 11
# The default table's bytes (20,000 rows, seed 20241122: the pipeline's embedded data) before drift existed.
EMBEDDED_SHA256 = "1d91c6ec11281173a82e77b59e3e0bd9ab58a1b3ec893d13ffb2dabba7771c43"


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return generate_credit_data(ROWS, SEED)


def drifted(**settings: object) -> pd.DataFrame:
    return generate_credit_data(ROWS, SEED, Drift(**settings))


def changed(base: pd.DataFrame, other: pd.DataFrame) -> list[str]:
    """The columns whose values differ."""
    return [name for name in base if not base[name].equals(other[name])]


def sha256(frame: pd.DataFrame) -> str:
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def test_the_default_call_is_unchanged_byte_for_byte() -> None:
    default = generate_credit_data(20_000, 20241122)
    assert sha256(default) == EMBEDDED_SHA256
    assert sha256(generate_credit_data(20_000, 20241122, Drift())) == EMBEDDED_SHA256


def test_a_shift_moves_its_column_by_k_standard_deviations_and_only_it(base: pd.DataFrame) -> None:
    for column in ("credit_utilization", "age", "late_payments_2y"):
        other = drifted(shift={column: 0.5})
        assert changed(base, other) == [column, "default"]  # the labels follow the moved values
        moved = (other[column].mean() - base[column].mean()) / base[column].std()
        assert moved == pytest.approx(0.5, abs=0.03)
        assert other[column].dtype == base[column].dtype


def test_a_shift_changes_the_labels_only_through_the_moved_feature(base: pd.DataFrame) -> None:
    """The label model is unchanged: moving utilization up raises the default rate, as its term says."""
    assert drifted(shift={"credit_utilization": 1.0})["default"].mean() > base["default"].mean() + 0.02


def test_a_new_category_appears_at_its_share(base: pd.DataFrame) -> None:
    other = drifted(new_category={"loan_purpose": ("crypto", 0.2)})
    assert changed(base, other) == ["loan_purpose"]
    assert (other["loan_purpose"] == "crypto").mean() == pytest.approx(0.2, abs=0.01)
    kept = other["loan_purpose"] != "crypto"
    assert other.loc[kept, "loan_purpose"].equals(base.loc[kept, "loan_purpose"])


def test_a_missing_spike_hides_its_share_on_top_of_the_usual_gaps(base: pd.DataFrame) -> None:
    other = drifted(missing={"annual_income": 0.3, "age": 0.1})
    assert changed(base, other) == ["age", "annual_income"]
    usual = MISSING_RATES["annual_income"]
    assert other["annual_income"].isna().mean() == pytest.approx(usual + 0.3 * (1 - usual), abs=0.01)
    assert other["age"].isna().mean() == pytest.approx(0.1, abs=0.01)
    assert str(other["age"].dtype) == "Int64"  # still integers, with missing values
    shown = other["age"].notna()
    assert (other.loc[shown, "age"].astype("int64") == base.loc[shown, "age"]).all()


def test_a_prior_shift_sets_the_positive_rate_and_leaves_the_features(base: pd.DataFrame) -> None:
    other = drifted(prior=0.3)
    assert changed(base, other) == ["default"]
    assert other["default"].mean() == pytest.approx(0.3, abs=0.015)
    assert base["default"].mean() < 0.14


def test_a_concept_shift_changes_p_y_given_x_but_not_x(base: pd.DataFrame) -> None:
    other = drifted(concept="credit_utilization")
    assert changed(base, other) == ["default"]
    high = base["credit_utilization"] > 0.6
    # The term 1.8 * (utilization - 0.3) flipped: high utilization now lowers the risk.
    assert base.loc[high, "default"].mean() > base.loc[~high, "default"].mean()
    assert other.loc[high, "default"].mean() < base.loc[high, "default"].mean() - 0.05


def test_each_setting_draws_its_own_random_numbers() -> None:
    """Adding a setting does not move another's rows: the same rows go missing with or without a shift."""
    alone = drifted(missing={"annual_income": 0.3})
    together = drifted(missing={"annual_income": 0.3}, shift={"age": 0.5}, new_category={"loan_purpose": ("x", 0.5)})
    assert alone["annual_income"].isna().equals(together["annual_income"].isna())


def test_drift_keeps_the_first_rows_independent_of_the_total() -> None:
    drift = Drift(shift={"age": 0.5}, new_category={"home_ownership": ("boat", 0.1)}, missing={"age": 0.2}, prior=0.2)
    small = generate_credit_data(1_000, 3, drift)
    pd.testing.assert_frame_equal(small, generate_credit_data(CHUNK_ROWS + 500, 3, drift).head(1_000))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"shift": {"loan_purpose": 1.0}}, "shift: 'loan_purpose' is not one of"),
        ({"shift": {"age": np.inf}}, "shift: k must be a finite number"),
        ({"new_category": {"loan_purpose": ("car", 0.1)}}, "'car' is already a category of loan_purpose"),
        ({"new_category": {"age": ("x", 0.1)}}, "new_category: 'age' is not one of"),
        ({"missing": {"age": 1.5}}, r"missing: the share 1.5 is not in \(0, 1\]"),
        ({"prior": 1.0}, "prior: 1.0 is not a rate"),
        ({"concept": "grit"}, "concept: 'grit' is not a term"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Drift(**settings)
