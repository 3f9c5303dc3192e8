"""Bad or ambiguous data under an inferred schema: each gets one line, or a decision that is printed and recorded."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from lockstep.config import ColumnRule, Params, SplitConfig
from lockstep.data.prepare import prepare_data, run_prepare
from lockstep.errors import PipelineError

from tests.shared import replace, shipped_params

ROWS = 120


def table(**columns: object) -> pd.DataFrame:
    """A small table with a balanced 0/1 `label` and a numeric `x`, plus `columns`."""
    base = {"x": np.arange(ROWS, dtype=float), "label": np.arange(ROWS) % 2}
    return pd.DataFrame(base | columns)


def config(cfg: Params, **data: object) -> Params:
    schema = replace(cfg.data.schema, min_rows=50, min_class_rows=5, columns={})
    blank = replace(cfg.data, target="label", id_column=None, positive_class=None, task="auto", schema=schema)
    return replace(cfg, data=replace(blank, **data), split=shipped_params().split)


def one_line(frame: pd.DataFrame, cfg: Params) -> str:
    with pytest.raises(PipelineError) as error:
        prepare_data(frame, cfg)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_every_inferred_decision_is_recorded(cfg: Params) -> None:
    dates = pd.date_range("2024-01-01", periods=ROWS, freq="D")
    frame = table(
        income=[f"{1000 + 37 * i:,}" for i in range(ROWS)],  # "1,000", "1,037", ...
        signup=dates,
        signup_text=dates.strftime("%Y-%m-%d"),
        city=["paris", "oslo", "rome"] * (ROWS // 3),
    )
    prepared = prepare_data(frame, config(cfg))
    assert prepared.decisions == {
        "columns": {
            "x": "numeric",
            "income": "numeric (thousands separators removed)",
            "signup": "datetime, dropped",
            "signup_text": "datetime, dropped",
            "city": "categorical (3 values)",
        },
        "task": "binary (inferred), positive class 1 (last in sorted order)",
    }
    assert prepared.summary["inferred"] == prepared.decisions
    assert prepared.features.numeric == ["x", "income"]
    assert prepared.features.dropped == ["signup", "signup_text"]
    assert "signup" not in prepared.train.columns
    assert pd.api.types.is_numeric_dtype(prepared.train["income"])
    assert 1037.0 in set(prepared.train["income"]) | set(prepared.test["income"])


def test_decisions_are_printed_one_line_each(
    cfg: Params, tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "raw.parquet"
    table(flag=[True, False] * (ROWS // 2)).to_parquet(raw)
    with caplog.at_level(logging.INFO, logger="lockstep.data.prepare"):
        run_prepare(config(cfg), raw_path=raw)
    assert [r.getMessage() for r in caplog.records][:3] == [
        "column x: numeric",
        "column flag: categorical (true/false)",
        "task: binary (inferred), positive class 1 (last in sorted order)",
    ]
    assert (
        '"task": "binary (inferred), positive class 1 (last in sorted order)"'
        in (tmp_path / "metrics" / "data.json").read_text()
    )


def test_positive_class_is_a_setting(cfg: Params) -> None:
    frame = table(label=np.where(np.arange(ROWS) % 2, "yes", "no"))
    prepared = prepare_data(frame, config(cfg, positive_class="no"))
    assert prepared.features.classes == ["yes", "no"]
    assert prepared.features.positive_class == "no"
    assert prepared.decisions["task"] == "binary (inferred), positive class 'no' (data.positive_class)"
    message = one_line(frame, config(cfg, positive_class="No"))
    assert message == "data.positive_class 'No' is not a label of target 'label' (labels: 'no', 'yes')"


def test_a_stray_label_in_a_numeric_target_is_refused(cfg: Params) -> None:
    labels = (np.arange(ROWS) % 2).astype(str).astype(object)
    labels[:6] = "yes"  # enough rows to pass min_class_rows: a third class, were it not refused
    message = one_line(table(label=labels), config(cfg))
    assert message == (
        "target 'label' mixes numbers and text: 'yes' in 6 rows; fix those rows, or set data.task if they are "
        "real classes"
    )


def test_numbers_mixed_with_text_in_a_feature_are_refused(cfg: Params) -> None:
    ages = np.arange(ROWS).astype(str).astype(object)
    ages[3] = "unknown"
    assert one_line(table(age=ages), config(cfg)) == (
        "column 'age' is mostly numbers but holds text in 1 rows (e.g. 'unknown'); fix those values, or list the "
        "column in data.schema.columns with dtype: category"
    )


def test_a_numeric_looking_column_can_be_declared_categorical(cfg: Params) -> None:
    zips = np.array([2134.0, 94105.0, 10001.0] * (ROWS // 3))
    zips[0] = np.nan
    schema = replace(
        config(cfg).data.schema, strict=False, columns={"zip": ColumnRule(dtype="category", nullable=True)}
    )
    prepared = prepare_data(table(zip=zips), config(cfg, schema=schema))
    assert prepared.features.categorical == ["zip"]
    assert set(prepared.train["zip"].dropna()) == {"2134", "94105", "10001"}
    assert prepared.decisions["columns"] == {"x": "numeric"}  # zip is declared, x inferred


def test_duplicated_columns_are_refused(cfg: Params) -> None:
    frame = pd.concat([table(), table()[["x"]]], axis=1)
    assert one_line(frame, config(cfg)) == ("column 'x' appears more than once in the data; rename or drop the copies")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            [np.inf, -np.inf] + [1.0] * (ROWS - 2),
            "column 'v' has infinite values in 2 rows; replace them (with a number or a missing value) or drop "
            "those rows",
        ),
        (
            [[1, 2]] * ROWS,
            "column 'v' holds nested values (list, e.g. a Parquet list or struct) in 120 rows; flatten it into "
            "plain columns or drop it",
        ),
        (
            [{"a": 1}] * ROWS,
            "column 'v' holds nested values (dict, e.g. a Parquet list or struct) in 120 rows; flatten it into "
            "plain columns or drop it",
        ),
    ],
)
def test_values_a_model_cannot_use_name_the_column(cfg: Params, values: list, message: str) -> None:
    assert one_line(table(v=values), config(cfg)) == message


def test_parquet_lists_and_structs_are_refused(cfg: Params, tmp_path) -> None:
    path = tmp_path / "nested.parquet"
    table(tags=[[1, 2]] * ROWS, place=[{"lat": 1.0, "lon": 2.0}] * ROWS).to_parquet(path)
    assert "column 'tags' holds nested values (ndarray" in one_line(pd.read_parquet(path), config(cfg))


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (
            replace(shipped_params().split, test_size=0.1, min_rows=20),
            "split.test_size=0.1 leaves 12 rows in the test set, fewer than split.min_rows=20; add data or change "
            "split.test_size",
        ),
        (
            replace(shipped_params().split, test_size=0.1, min_rows=5, min_class_rows=10),
            "split.test_size=0.1 leaves 6 rows of class 0 in the test set, fewer than split.min_class_rows=10; "
            "add data or change split.test_size",
        ),
    ],
)
def test_each_side_of_the_split_needs_enough_rows(cfg: Params, split: SplitConfig, message: str) -> None:
    assert one_line(table(), replace(config(cfg), split=split)) == message
