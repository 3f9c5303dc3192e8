from __future__ import annotations

import pandas as pd
import pytest
import yaml

from lockstep.config import parse_params
from lockstep.data.synthetic import CHUNK_ROWS, MISSING_RATES, generate_credit_data
from lockstep.data.validate import validate_table

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    return generate_credit_data(20_000, seed=11)


def test_same_seed_gives_the_same_table() -> None:
    pd.testing.assert_frame_equal(generate_credit_data(3_000, 5), generate_credit_data(3_000, 5))


def test_other_seed_gives_another_table() -> None:
    assert not generate_credit_data(3_000, 5).equals(generate_credit_data(3_000, 6))


def test_the_first_rows_do_not_depend_on_the_total() -> None:
    small = generate_credit_data(1_000, 3)
    large = generate_credit_data(CHUNK_ROWS + 500, 3)
    pd.testing.assert_frame_equal(small, large.head(1_000))
    assert large["loan_id"].is_unique


def test_default_rate_and_missing_values_are_realistic(loans: pd.DataFrame) -> None:
    assert 0.08 < loans["default"].mean() < 0.14
    for column, rate in MISSING_RATES.items():
        assert loans[column].isna().mean() == pytest.approx(rate, abs=0.01)


def test_labels_follow_the_documented_risk_factors(loans: pd.DataFrame) -> None:
    by_late = loans.groupby(loans["late_payments_2y"].clip(upper=2))["default"].mean()
    assert by_late.is_monotonic_increasing
    by_employment = loans.groupby("employment_type")["default"].mean()
    assert by_employment["unemployed"] > by_employment["salaried"]


def test_generated_table_passes_the_default_schema(loans: pd.DataFrame) -> None:
    cfg = parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))
    validated, _ = validate_table(loans, cfg.data)
    assert list(validated.columns) == list(loans.columns)


def test_rejects_a_non_positive_row_count() -> None:
    with pytest.raises(ValueError, match="positive"):
        generate_credit_data(0, 1)
