"""Infer: decide what each column not listed in `data.schema.columns` is, and say so.

Every decision is one short phrase (`numeric`, `categorical`, `datetime, dropped`,
`numeric (thousands separators removed)`); the prepare stage prints them and
writes them into metrics/data.json, so a pull request's report shows when one
changes. Values the model cannot use (infinities, lists, numbers mixed with
text) are refused with one line naming the column.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..errors import PipelineError

NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
THOUSANDS = re.compile(r"^\s*[-+]?\d{1,3}(,\d{3})+(\.\d+)?\s*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
DROPPED_DATETIME = "datetime, dropped"
THOUSANDS_REMOVED = "numeric (thousands separators removed)"
NUMBERS_AS_TEXT = "numeric (numbers stored as text)"
# The raw table's attrs key naming the columns its source file types as text (a Parquet string
# column). pandas keeps a table's attrs in the Parquet file it writes, so ingest's record reaches prepare.
TEXT_COLUMNS = "text_columns"


def refuse_unusable_values(frame: pd.DataFrame) -> None:
    """Raise PipelineError for the first column holding nested values or infinities."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object:
            nested = values.map(lambda v: isinstance(v, list | tuple | dict | set | np.ndarray))
            if nested.any():
                kind = type(values[nested].iloc[0]).__name__
                raise PipelineError(
                    f"column {column!r} holds nested values ({kind}, e.g. a Parquet list or struct) in "
                    f"{int(nested.sum())} rows; flatten it into plain columns or drop it",
                    row=int(np.flatnonzero(nested.to_numpy())[0]),
                )
        if pd.api.types.is_float_dtype(values):
            infinite = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
            if infinite.any():
                raise PipelineError(
                    f"column {column!r} has infinite values in {int(infinite.sum())} rows; "
                    "replace them (with a number or a missing value) or drop those rows",
                    row=int(np.flatnonzero(infinite)[0]),
                )


def is_text(values: pd.Series) -> bool:
    """Whether a column holds text (object or string dtype), not numbers, bools or dates."""
    return pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)


def numeric_share(values: pd.Series) -> tuple[int, int]:
    """(values that read as numbers, non-missing values) of a text column."""
    present = values.dropna().astype(str)
    return int(present.str.match(NUMBER).sum()), len(present)


def declare_text(frame: pd.DataFrame, columns: list[str]) -> None:
    """Record that the source file types `columns` as text, so that inference keeps them text."""
    if columns:
        frame.attrs[TEXT_COLUMNS] = list(columns)


def infer_column(name: str, values: pd.Series, typed_text: bool = False) -> tuple[pd.Series | None, str]:
    """The column as the model should see it (None: dropped), and the decision in a few words.

    `typed_text`: the file types the column as text, so numbers in it stay text (zip codes).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return None, DROPPED_DATETIME
    if pd.api.types.is_bool_dtype(values):
        return values, "categorical (true/false)"
    if pd.api.types.is_numeric_dtype(values):
        return values, "numeric"
    present = values.dropna().astype(str)
    if len(present) and present.str.match(ISO_DATE).all():
        return None, DROPPED_DATETIME
    if typed_text:
        return values, typed_text_decision(present)
    separated = present.str.match(THOUSANDS)
    if separated.any() and (separated | present.str.match(NUMBER)).all():
        return apply_decision(values, THOUSANDS_REMOVED), THOUSANDS_REMOVED
    numbers, total = numeric_share(values)
    if total and numbers == total:
        return apply_decision(values, NUMBERS_AS_TEXT), NUMBERS_AS_TEXT
    if total and numbers * 2 > total:
        example = present[~present.str.match(NUMBER)].iloc[0]
        raise PipelineError(
            f"column {name!r} is mostly numbers but holds text in {total - numbers} rows (e.g. {example!r}); "
            "fix those values, or list the column in data.schema.columns with dtype: category"
        )
    return values, f"categorical ({present.nunique()} values)"


def typed_text_decision(present: pd.Series) -> str:
    """A text-typed column is categorical; the decision says so when its values read as numbers."""
    numbers = int((present.str.match(NUMBER) | present.str.match(THOUSANDS)).sum())
    decision = f"categorical ({present.nunique()} values"
    if numbers * 2 <= len(present):
        return decision + ")"
    share = "all" if numbers == len(present) else "most"
    return decision + f"; the file stores them as text, though {share} read as numbers)"


def infer_columns(frame: pd.DataFrame, skip: set[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Decide every column not in `skip`; return the table with those decisions applied, and the decisions."""
    decisions: dict[str, str] = {}
    table = frame.copy()
    typed_text = set(table.attrs.pop(TEXT_COLUMNS, []))  # applied here; the prepared sets do not carry it
    for name in frame.columns:
        if name in skip:
            continue
        column, decisions[name] = infer_column(name, frame[name], name in typed_text)
        if column is None:
            table = table.drop(columns=name)
        else:
            table[name] = column
    return table, decisions


def apply_decision(values: pd.Series, decision: str) -> pd.Series | None:
    """A part of a column, as `infer_column` decided for the whole of it (None: dropped); compute=dask's parts."""
    if decision == DROPPED_DATETIME:
        return None
    if decision == THOUSANDS_REMOVED:
        numbers = pd.to_numeric(values.astype(str).str.replace(",", "", regex=False), errors="coerce")
        return numbers.where(values.notna())
    if decision == NUMBERS_AS_TEXT:
        return pd.to_numeric(values, errors="coerce")
    return values


def refuse_mixed_target(target: pd.Series, name: str) -> None:
    """A target of numbers with a few text labels is a typo, not another class."""
    if not is_text(target):
        return
    numbers, total = numeric_share(target)
    if 0 < numbers < total:
        present = target.dropna().astype(str)
        stray = present[~present.str.match(NUMBER)]
        minority = stray if len(stray) <= numbers else present[present.str.match(NUMBER)]
        raise PipelineError(
            f"target {name!r} mixes numbers and text: {minority.iloc[0]!r} in {len(minority)} rows; fix those "
            "rows, or set data.task if they are real classes"
        )


def describe_value(value: Any) -> str:
    """A label as it reads in a message or in data.json: text quoted, numbers bare."""
    return repr(value) if isinstance(value, str) else str(value)
