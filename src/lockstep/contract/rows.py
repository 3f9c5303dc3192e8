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
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .model_contract import InputColumn, ModelContract

BOOL_TEXT = {"true": True, "false": False}
# What pandas' `infer_dtype` calls a column of numbers only (not bools, not decimals).
NUMBERS = ("integer", "floating", "mixed-integer-float")
VECTORISED_ROWS = 64  # above this many rows, values are looked up by pandas rather than a Python loop


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

    columns: dict[str, np.ndarray]  # the contract's columns, in order, for the passing rows only
    positions: np.ndarray  # where each passing row was in the input
    problems: list[Problem]

    @cached_property
    def inputs(self) -> pd.DataFrame:
        """The passing rows as a DataFrame (serving scores `columns` itself: building a frame costs more)."""
        return pd.DataFrame(self.columns)


def check_record_fields(records: Iterable[Mapping[str, Any]], contract: ModelContract) -> list[Problem]:
    """Unknown and missing fields of JSON records (the id column and dropped columns are allowed, the target is not)."""
    expected = set(contract.feature_names)
    allowed = expected | set(contract.dropped) | ({contract.id_column} if contract.id_column else set())
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


def record_columns(records: list[Mapping[str, Any]], contract: ModelContract) -> dict[str, np.ndarray]:
    """JSON records as one object column per contract feature (None where a record lacks it), for `check_rows`.

    Object arrays, because NumPy would turn [1, "a"] into strings.
    """
    columns = {}
    for name in contract.feature_names:
        column = np.empty(len(records), dtype=object)
        column[:] = [record.get(name) for record in records]
        columns[name] = column
    return columns


def check_rows(frame: Mapping[str, Any], contract: ModelContract, text: bool = False) -> CheckedRows:
    """Check every contract column of `frame` (a DataFrame, or arrays by name).

    `text` says values may be numbers written as strings (CSV).
    """
    columns: dict[str, np.ndarray] = {}
    problems: list[Problem] = []
    length = len(next(iter(frame.values()))) if isinstance(frame, dict) else len(frame)
    for rule in contract.columns:
        values, found = _check_column(np.asarray(frame[rule.name]), rule, text)
        columns[rule.name] = values
        problems += found
    bad = np.zeros(length, dtype=bool)
    bad[[problem.row for problem in problems]] = True
    positions = np.flatnonzero(~bad)
    if problems:
        columns = {name: values[positions] for name, values in columns.items()}
    return CheckedRows(columns, positions, sorted(problems, key=lambda p: p.row))


def _check_column(column: np.ndarray, rule: InputColumn, text: bool) -> tuple[np.ndarray, list[Problem]]:
    """The column as the model takes it, and every broken rule in it.

    The checks run on NumPy arrays (a Python loop only over object columns):
    an online request is one row, and pandas' per-call overhead would dominate.
    """
    missing = np.asarray(pd.isna(column), dtype=bool)
    if rule.numeric:
        values, wrong_type = _as_numbers(column, missing, text)
    else:
        values, wrong_type = _as_labels(column, missing, rule.dtype, text)
    checks: list[tuple[np.ndarray, str, str]] = [(wrong_type, "type", f"is not {_kind(rule.dtype)}")]
    if not rule.nullable:
        checks.append((missing, "null", "is null, but the field is required"))
    ok = ~missing & ~wrong_type
    if rule.numeric:
        numbers = np.where(ok, values, 0.0)
        checks.append((ok & ~np.isfinite(numbers), "type", "is not a finite number"))
        ok &= np.isfinite(numbers)
        if rule.dtype == "int":
            checks.append((ok & (numbers % 1 != 0), "type", "is not an integer"))
        if rule.min is not None:
            checks.append((ok & (numbers < rule.min), "range", f"is below the minimum {rule.min:g}"))
        if rule.max is not None:
            checks.append((ok & (numbers > rule.max), "range", f"is above the maximum {rule.max:g}"))
    if rule.allowed is not None:
        if rule.numeric:
            known = np.isin(values, [float(v) for v in rule.allowed])
        elif len(values) > VECTORISED_ROWS:  # a hash lookup in C
            known = pd.Index(values, dtype=object).isin([str(v) for v in rule.allowed])
        else:  # a few rows: pandas' per-call cost is more than the loop's
            allowed = {str(v) for v in rule.allowed}
            known = np.fromiter((v in allowed for v in values), dtype=bool, count=len(values))
        shown = ", ".join(map(str, rule.allowed))
        checks.append((ok & ~known, "category", f"is not an allowed value ({shown})"))
    problems = [
        Problem(int(row), rule.name, kind, f"{rule.name}: {_show(column[row])} {message}")
        for mask, kind, message in checks
        if mask.any()
        for row in np.flatnonzero(mask)
    ]
    return values, problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def _as_numbers(column: np.ndarray, missing: np.ndarray, text: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as float64 (NaN where missing or wrong), and where a value is not a number."""
    if column.dtype.kind in "iuf":
        return column.astype("float64"), np.zeros(len(column), dtype=bool)
    if column.dtype.kind == "b":
        return np.full(len(column), np.nan), ~missing
    if text:
        is_text = _is_text(column, missing)
        values = pd.to_numeric(pd.Series(np.where(is_text, column, None), dtype=object), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        wrong = ~missing & np.isnan(values)
        return values, wrong
    if pd.api.types.infer_dtype(column, skipna=True) in NUMBERS:  # one scan in C: every value is a number
        try:
            return np.where(missing, np.nan, column).astype("float64"), np.zeros(len(column), dtype=bool)
        except OverflowError:  # an integer beyond any float: the loop below makes it inf, refused as not finite
            pass
    is_number = np.fromiter((_is_number(v) for v in column), dtype=bool, count=len(column))
    values = np.array([_float(v) if ok else np.nan for v, ok in zip(column, is_number, strict=True)], dtype="float64")
    return values, ~missing & ~is_number


def _float(value: Any) -> float:
    """`value` as a float; an integer too large for one (JSON allows 10**400) becomes inf."""
    try:
        return float(value)
    except OverflowError:
        return np.inf if value > 0 else -np.inf


def _as_labels(column: np.ndarray, missing: np.ndarray, dtype: str, text: bool) -> tuple[np.ndarray, np.ndarray]:
    """Categories as Python objects (NaN where missing, as the imputer expects), and where the type is wrong."""
    if dtype == "bool":
        parsed = [
            v if isinstance(v, bool | np.bool_) else BOOL_TEXT.get(v.lower()) if text and isinstance(v, str) else None
            for v in column
        ]
        wrong = ~missing & np.array([v is None for v in parsed], dtype=bool)
        return np.array([np.nan if v is None else bool(v) for v in parsed], dtype=object), wrong
    is_text = _is_text(column, missing)
    values = np.where(is_text, column, np.nan).astype(object)
    return values, ~missing & ~is_text


def _is_text(column: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Where `column` holds a string: one scan in C when all of it is text (or missing), else a loop."""
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return ~missing
    return np.fromiter((isinstance(v, str) for v in column), dtype=bool, count=len(column))


def _kind(dtype: str) -> str:
    return {"int": "an integer", "float": "a number", "bool": "true or false"}.get(dtype, "a string")


def _show(value: Any) -> str:
    """A value as a message shows it: repr, shortened."""
    if isinstance(value, np.generic):
        value = value.item()
    shown = "null" if value is None or (isinstance(value, float) and np.isnan(value)) else repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
