"""Check rows without a target against the contract, and make them model-ready.

The rules come from the contract's columns, which are the `data.schema.columns`
entries the training-time pandera schema was built from. pandera itself is not
used here: it coerces (serving must refuse a string where a number belongs) and
its per-call cost would dominate an online request. Every failure names the row,
the field and the rule, so batch scoring can reject a row with its reason and the
API can answer 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .model_contract import ColumnRule, ModelContract

BOOL_TEXT = {"true": True, "false": False}


@dataclass(frozen=True)
class Problem:
    """Why one row was refused: the field and the rule it broke."""

    row: int
    field: str
    rule: str  # unknown_field, missing, type, null, range, category
    message: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"row": self.row, "field": self.field, "rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class CheckedRows:
    """The rows that passed, model-ready, and the problems of those that did not."""

    inputs: pd.DataFrame  # the contract's columns, in order, for the passing rows only
    positions: np.ndarray  # where each passing row was in the input
    problems: list[Problem]


def check_record_fields(records: Iterable[Mapping[str, Any]], contract: ModelContract) -> list[Problem]:
    """Unknown and missing fields of JSON records (the id column is allowed, the target is not)."""
    expected = set(contract.feature_names)
    allowed = expected | ({contract.id_column} if contract.id_column else set())
    problems = []
    for row, record in enumerate(records):
        keys = set(record)
        problems += [
            Problem(
                row, name, "unknown_field", f"{name}: unknown field (expected: {', '.join(contract.feature_names)})"
            )
            for name in sorted(keys - allowed)
        ]
        problems += [
            Problem(row, name, "missing", f"{name}: required field is missing") for name in sorted(expected - keys)
        ]
    return problems


def check_rows(frame: pd.DataFrame, contract: ModelContract, text: bool = False) -> CheckedRows:
    """Check every contract column of `frame`; `text` says values may be numbers written as strings (CSV)."""
    columns: dict[str, pd.Series] = {}
    problems: list[Problem] = []
    for rule in contract.columns:
        values, found = _check_column(frame[rule.name].reset_index(drop=True), rule, text)
        columns[rule.name] = values
        problems += found
    bad = np.zeros(len(frame), dtype=bool)
    bad[[problem.row for problem in problems]] = True
    positions = np.flatnonzero(~bad)
    inputs = pd.DataFrame(columns).iloc[positions].reset_index(drop=True)
    return CheckedRows(inputs, positions, sorted(problems, key=lambda p: p.row))


def _check_column(column: pd.Series, rule: ColumnRule, text: bool) -> tuple[pd.Series, list[Problem]]:
    """The column as the model takes it, and every broken rule in it."""
    missing = column.isna().to_numpy()
    if rule.numeric:
        values, wrong_type = _as_numbers(column, missing, text)
    else:
        values, wrong_type = _as_labels(column, missing, rule.dtype, text)
    checks: list[tuple[np.ndarray, str, str]] = [(wrong_type, "type", f"is not {_kind(rule.dtype)}")]
    if not rule.nullable:
        checks.append((missing, "null", "is null, but the field is required"))
    ok = ~missing & ~wrong_type
    if rule.numeric:
        numbers = values.to_numpy(dtype=float)
        checks.append((ok & ~np.isfinite(np.where(ok, numbers, 0.0)), "type", "is not a finite number"))
        ok &= np.isfinite(np.where(ok, numbers, 0.0))
        if rule.dtype == "int":
            checks.append((ok & (np.where(ok, numbers, 0.0) % 1 != 0), "type", "is not an integer"))
        if rule.min is not None:
            checks.append(
                (ok & (np.where(ok, numbers, rule.min) < rule.min), "range", f"is below the minimum {rule.min:g}")
            )
        if rule.max is not None:
            checks.append(
                (ok & (np.where(ok, numbers, rule.max) > rule.max), "range", f"is above the maximum {rule.max:g}")
            )
    if rule.allowed is not None:
        allowed = {float(v) for v in rule.allowed} if rule.numeric else {str(v) for v in rule.allowed}
        known = values.map(lambda v: v in allowed).to_numpy(dtype=bool)
        shown = ", ".join(map(str, rule.allowed))
        checks.append((ok & ~known, "category", f"is not an allowed value ({shown})"))
    problems = [
        Problem(int(row), rule.name, kind, f"{rule.name}: {_show(column.iloc[row])} {message}")
        for mask, kind, message in checks
        for row in np.flatnonzero(mask)
    ]
    return values, problems


def _as_numbers(column: pd.Series, missing: np.ndarray, text: bool) -> tuple[pd.Series, np.ndarray]:
    """Numbers as float64 (NaN where missing or wrong), and where a value is not a number."""
    if pd.api.types.is_bool_dtype(column):
        return pd.Series(np.full(len(column), np.nan)), ~missing
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64"), np.zeros(len(column), dtype=bool)
    if text:
        values = pd.to_numeric(column.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
        is_number = column.map(lambda v: isinstance(v, str | int | float) and not isinstance(v, bool)).to_numpy(bool)
        wrong = ~missing & (~is_number | values.isna().to_numpy())
        return values.astype("float64").where(~wrong), wrong
    is_number = column.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).to_numpy(dtype=bool)
    wrong = ~missing & ~is_number
    return pd.Series(np.where(is_number, column, np.nan), dtype="float64"), wrong


def _as_labels(column: pd.Series, missing: np.ndarray, dtype: str, text: bool) -> tuple[pd.Series, np.ndarray]:
    """Categories as Python objects (NaN where missing, as the imputer expects), and where the type is wrong."""
    if dtype == "bool":
        parse = (lambda v: BOOL_TEXT.get(v.lower()) if isinstance(v, str) else None) if text else None
        parsed = column.map(lambda v: v if isinstance(v, bool | np.bool_) else (parse(v) if parse else None))
        wrong = ~missing & parsed.isna().to_numpy()
        return parsed.astype(object).where(~(missing | wrong), np.nan), wrong
    is_text = column.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    wrong = ~missing & ~is_text
    return column.astype(object).where(is_text, np.nan), wrong


def _kind(dtype: str) -> str:
    return {"int": "an integer", "float": "a number", "bool": "true or false"}.get(dtype, "a string")


def _show(value: Any) -> str:
    """A value as a message shows it: repr, shortened."""
    if isinstance(value, np.generic):
        value = value.item()
    shown = "null" if value is None or (isinstance(value, float) and np.isnan(value)) else repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
