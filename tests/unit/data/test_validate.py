from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from lockstep.config import ColumnRule, DataConfig, parse_params
from lockstep.data.synthetic import generate_credit_data
from lockstep.data.validate import describe_features, infer_task, validate_table
from lockstep.errors import PipelineError

from tests.conftest import REPO_ROOT
from tests.shared import replace


@pytest.fixture(scope="module")
def credit_cfg() -> DataConfig:
    return parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text())).data


@pytest.fixture
def loans() -> pd.DataFrame:
    return generate_credit_data(2_000, seed=3)


def _one_line_error(frame: pd.DataFrame, cfg: DataConfig) -> str:
    with pytest.raises(PipelineError) as error:
        validate_table(frame, cfg)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_wrong_dtype_names_the_column_and_the_value(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans["age"] = loans["age"].astype(object)
    loans.loc[5, "age"] = "forty"
    assert _one_line_error(loans, credit_cfg) == "invalid data: column 'age' should be int but holds 'forty'"


def test_fractional_value_in_an_int_column_is_a_wrong_dtype(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans["late_payments_2y"] = loans["late_payments_2y"].astype(float)
    loans.loc[0, "late_payments_2y"] = 1.5
    assert "column 'late_payments_2y' should be int" in _one_line_error(loans, credit_cfg)


def test_out_of_range_value_is_counted_with_an_example(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans.loc[[3, 9], "age"] = [150, 7]
    message = _one_line_error(loans, credit_cfg)
    assert message in (
        "invalid data: column 'age': values outside [18, 100] in 2 rows (e.g. 150)",
        "invalid data: column 'age': values outside [18, 100] in 2 rows (e.g. 7)",
    )


def test_unknown_category_lists_the_allowed_ones(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans.loc[0, "home_ownership"] = "castle"
    message = _one_line_error(loans, credit_cfg)
    assert (
        "column 'home_ownership': unknown category (allowed: mortgage, rent, own, other) in 1 row (e.g. 'castle')"
        in message
    )


def test_missing_target_column(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    message = _one_line_error(loans.drop(columns="default"), credit_cfg)
    assert message.startswith("target column 'default' not in the data (found: loan_id, age,")
    assert message.endswith("set data.target")


def test_missing_and_unexpected_columns(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    assert "column 'interest_rate' is missing" in _one_line_error(loans.drop(columns="interest_rate"), credit_cfg)
    loans["shoe_size"] = 42
    assert "unexpected column 'shoe_size'" in _one_line_error(loans, credit_cfg)


def test_too_many_missing_values(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans.loc[: len(loans) // 2, "annual_income"] = np.nan
    message = _one_line_error(loans, credit_cfg)
    assert re.search(r"column 'annual_income' is 5\d\.\d% missing, above the 10\.0% allowed", message)


def test_null_in_a_non_nullable_column(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans["age"] = loans["age"].astype(float)
    loans.loc[4, "age"] = np.nan
    assert "column 'age' has missing values in 1 row but is not nullable" in _one_line_error(loans, credit_cfg)


def test_too_few_rows(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    assert "only 10 rows, fewer than data.schema.min_rows=1000" in _one_line_error(loans.head(10), credit_cfg)


def test_duplicate_ids(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans.loc[1, "loan_id"] = loans.loc[0, "loan_id"]
    assert "column 'loan_id' should be unique" in _one_line_error(loans, credit_cfg)


def test_several_problems_report_the_first_and_count_the_rest(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans.loc[0, "home_ownership"] = "castle"
    loans.loc[0, "age"] = 150
    assert _one_line_error(loans, credit_cfg).endswith("(+1 more problems)")


def test_valid_table_is_coerced_to_the_schema(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans["age"] = loans["age"].astype(float)
    validated, decisions = validate_table(loans, credit_cfg)
    assert str(validated["age"].dtype) == "Int64"
    assert decisions == {}  # every column is listed: nothing inferred


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 1, 0], "binary"),
        (["yes", "no", "no", "yes"], "binary"),
        ([True, False, True, False], "binary"),
        (["a", "b", "c", "a"], "multiclass"),
        ([1, 2, 3, 4], "multiclass"),
        ([0.5, 1.25, 3.0, 2.0], "regression"),
        (list(range(100)), "regression"),
    ],
)
def test_infer_task_from_the_target(values: list, task: str) -> None:
    assert infer_task(pd.Series(values)) == task


def test_explicit_task_wins_but_binary_needs_two_classes() -> None:
    assert infer_task(pd.Series([1, 2, 3, 4]), "regression") == "regression"
    with pytest.raises(PipelineError, match="regression but the target is not numeric"):
        infer_task(pd.Series(["a", "b", "c"]), "regression")
    with pytest.raises(PipelineError, match="binary but the target has 3 classes"):
        infer_task(pd.Series(["a", "b", "c"]), "binary")


def test_single_class_target_is_rejected(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans["default"] = 0
    with pytest.raises(
        PipelineError, match=r"target 'default' has a single class \(0\); a classifier needs at least two"
    ):
        describe_features(loans, credit_cfg, "binary", [])


def test_rare_class_is_rejected(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    loans["default"] = 0
    loans.loc[:4, "default"] = 1
    with pytest.raises(PipelineError, match=r"class 1 of target 'default' has 5 rows, fewer than"):
        describe_features(loans, credit_cfg, "binary", [])


def test_features_come_from_the_schema_or_from_dtypes(loans: pd.DataFrame, credit_cfg: DataConfig) -> None:
    spec = describe_features(validate_table(loans, credit_cfg)[0], credit_cfg, "binary", [])
    assert spec.categorical == ["employment_type", "home_ownership", "loan_purpose"]
    assert "loan_id" not in spec.columns
    assert "default" not in spec.columns
    assert spec.classes == [0, 1]
    inferred = _blank(credit_cfg, min_rows=2, min_class_rows=1)
    table = pd.DataFrame({"n": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"], "y": [0, 1, 0, 1]})
    spec = describe_features(validate_table(table, inferred)[0], inferred, "binary", [])
    assert (spec.numeric, spec.categorical) == (["n"], ["c"])


def test_inferred_schema_still_checks_the_target(credit_cfg: DataConfig) -> None:
    cfg = _blank(credit_cfg, min_rows=2, columns={"n": ColumnRule(dtype="float")})
    table = pd.DataFrame({"n": [1.0, 2.0], "y": [0, None]})
    with pytest.raises(PipelineError, match="target column 'y' has 1 missing values"):
        validate_table(table, cfg)


def _blank(cfg: DataConfig, **schema: object) -> DataConfig:
    """`cfg` with target `y`, no id column, no listed columns, and `schema`'s values."""
    blank = replace(cfg.schema, **({"columns": {}} | schema))
    return replace(cfg, target="y", id_column=None, positive_class=None, schema=blank)
