"""Datasheet: what a published dataset version is, computed from its bytes.

A datasheet holds the schema (the project's column rules where it sets them,
inferred from the table where it does not), the row count, the content hash,
a summary of every column, and where the version came from (repository,
commit, command, license). `data publish` writes one with every version, and
`data use`/`data update` compare its schema with the consumer's contract before
the pin moves (`schema_differences`). No timestamps: the same bytes give the same datasheet.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..config import ColumnRule, DType

# A text column with at most this many distinct values is a category (its values are listed); else free text.
MAX_CATEGORIES = 50
TOP_VALUES = 10
FORMAT = 1


def infer_rule(values: pd.Series) -> ColumnRule:
    """The column rule a column's values meet: its type, its observed range or categories, and nullability."""
    nullable = bool(values.isna().any())
    present = values.dropna()
    if pd.api.types.is_bool_dtype(values):
        return ColumnRule(dtype=DType.BOOL, nullable=nullable)
    if pd.api.types.is_numeric_dtype(values):
        kind = DType.INT if pd.api.types.is_integer_dtype(values) else DType.FLOAT
        low, high = (float(present.min()), float(present.max())) if len(present) else (None, None)
        return ColumnRule(dtype=kind, min=low, max=high, nullable=nullable)
    text = present.astype(str)
    if text.nunique() <= MAX_CATEGORIES:
        return ColumnRule(dtype=DType.CATEGORY, allowed=sorted(text.unique().tolist()), nullable=nullable)
    return ColumnRule(dtype=DType.STRING, nullable=nullable)


def column_summary(values: pd.Series) -> dict[str, Any]:
    """Missing and distinct counts, with the range and mean of a number or the most common values of text."""
    present = values.dropna()
    summary: dict[str, Any] = {"missing": int(values.isna().sum()), "distinct": int(present.nunique())}
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and len(present):
        numbers = present.astype(float)
        summary |= {"min": float(numbers.min()), "max": float(numbers.max()), "mean": float(numbers.mean())}
        summary["std"] = float(numbers.std(ddof=0))
    else:
        counts = present.astype(str).value_counts()
        top = counts.sort_index().sort_values(ascending=False, kind="stable").head(TOP_VALUES)
        summary["top"] = {str(value): int(count) for value, count in top.items()}
    return summary


def build_datasheet(
    frame: pd.DataFrame,
    rules: dict[str, ColumnRule],
    identity: dict[str, Any],
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """The datasheet of `frame`: `rules` are the project's column rules (the others are inferred).

    `identity`: name, version, path, md5 and size of the file; `provenance`: repository, commit,
    command, license, and the target and id column a consumer trains with.
    """
    schema = {
        str(name): (rules.get(str(name)) or infer_rule(frame[name])).model_dump(exclude_defaults=True, mode="json")
        for name in frame.columns
    }
    return {
        "format": FORMAT,
        **identity,
        "rows": len(frame),
        "columns": [str(name) for name in frame.columns],
        "schema": schema,
        "summary": {str(name): column_summary(frame[name]) for name in frame.columns},
        **provenance,
    }


def schema_differences(contract: dict[str, ColumnRule], schema: dict[str, Any]) -> list[str]:
    """One line per way the datasheet's `schema` breaks the consumer's `contract` (its column rules)."""
    lines = [f"column {name!r} is gone: the contract requires it" for name in sorted(set(contract) - set(schema))]
    lines += [f"column {name!r} is new: the contract does not list it" for name in sorted(set(schema) - set(contract))]
    for name in sorted(set(contract) & set(schema)):
        lines += _rule_differences(name, contract[name], ColumnRule.model_validate(schema[name]))
    return lines


def _rule_differences(name: str, old: ColumnRule, new: ColumnRule) -> list[str]:
    if old.dtype != new.dtype:
        return [f"column {name!r} changed type: {old.dtype} -> {new.dtype}"]
    lines = []
    if old.allowed is not None and new.allowed is not None:
        known = {str(value) for value in old.allowed}
        added = sorted({str(value) for value in new.allowed} - known)
        if added:
            lines.append(f"column {name!r} has new categories: {', '.join(map(repr, added))}")
    if new.nullable and not old.nullable:
        lines.append(f"column {name!r} now has missing values: the contract does not allow them")
    if old.min is not None and new.min is not None and new.min < old.min:
        lines.append(f"column {name!r} goes below the contract's min: {new.min:g} < {old.min:g}")
    if old.max is not None and new.max is not None and new.max > old.max:
        lines.append(f"column {name!r} goes above the contract's max: {new.max:g} > {old.max:g}")
    return lines
