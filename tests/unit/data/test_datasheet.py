"""Datasheets and pins: the schema a version promises, how a new one breaks a contract, and a pin's check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lockstep.config import ColumnRule
from lockstep.data.datasheet import build_datasheet, infer_rule, schema_differences
from lockstep.data.pins import Pin, check_pinned_bytes, read_pin, write_pin
from lockstep.errors import PipelineError
from lockstep.io import file_md5

CONTRACT = {
    "age": ColumnRule(dtype="int", min=18, max=100),
    "home": ColumnRule(dtype="category", allowed=["own", "rent"]),
    "income": ColumnRule(dtype="float", min=0),
}


def table(**changes: list) -> pd.DataFrame:
    return pd.DataFrame({"age": [20, 30, 40], "home": ["own", "rent", "own"], "income": [1.0, 2.0, 3.0]} | changes)


def schema_of(frame: pd.DataFrame) -> dict:
    return {name: infer_rule(frame[name]).model_dump(exclude_defaults=True, mode="json") for name in frame.columns}


def test_a_table_that_meets_the_contract_has_no_differences() -> None:
    assert schema_differences(CONTRACT, schema_of(table())) == []


def test_each_difference_is_one_line_naming_the_column() -> None:
    changed = table(home=["own", "rent", "gig"], income=[1.0, None, -2.0]).drop(columns=["age"])
    changed["region"] = ["n", "s", "n"]
    assert schema_differences(CONTRACT, schema_of(changed)) == [
        "column 'age' is gone: the contract requires it",
        "column 'region' is new: the contract does not list it",
        "column 'home' has new categories: 'gig'",
        "column 'income' now has missing values: the contract does not allow them",
        "column 'income' goes below the contract's min: -2 < 0",
    ]
    assert schema_differences(CONTRACT, schema_of(table(age=["a", "b", "c"]))) == [
        "column 'age' changed type: int -> category"
    ]


def test_the_datasheet_is_the_same_for_the_same_bytes_and_keeps_the_project_s_rules() -> None:
    sheets = [build_datasheet(table(), {"home": CONTRACT["home"]}, {"name": "x"}, {"license": None}) for _ in range(2)]
    assert sheets[0] == sheets[1]
    assert sheets[0]["rows"] == 3
    assert sheets[0]["schema"]["home"] == {"dtype": "category", "allowed": ["own", "rent"]}
    assert sheets[0]["schema"]["age"] == {"dtype": "int", "min": 20.0, "max": 40.0}  # inferred: observed range
    assert sheets[0]["summary"]["home"]["top"] == {"own": 2, "rent": 1}


def test_a_pin_checks_its_bytes(tmp_path: Path) -> None:
    data = tmp_path / "loans.csv"
    data.write_text("a\n1\n")
    (tmp_path / "loans.csv.dvc").write_text(
        f"outs:\n- md5: {file_md5(data)}\n  size: 4\n  hash: md5\n  path: loans.csv\n"
    )
    assert read_pin(data) is None  # data the project owns
    pin = Pin("loans", "v1.0.0", "../registry.git", "0" * 40, "data/loans.csv", str(file_md5(data)))
    write_pin(data, pin)
    assert check_pinned_bytes(data) == pin
    data.write_text("a\n2\n")
    with pytest.raises(PipelineError, match=r"not loans@v1.0.0's .*the copy is corrupted"):
        check_pinned_bytes(data)
