"""Validate: check the raw table against `data.schema` and work out the task.

Table-level rules (rows, missing values, classes) are plain pandas checks;
column rules (dtype, range, allowed values, nulls, uniqueness) are a pandera
schema built from the config. Every failure becomes one line that names the
column, the problem and an example value.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..config import NUMERIC_DTYPES, TEXT_DTYPES, ColumnRule, DataConfig, DType, Task
from ..contract.features import FeatureSpec
from ..errors import PipelineError
from .infer import describe_value, infer_columns, refuse_mixed_target, refuse_unusable_values

MAX_CLASSES = 20
# How pandera checks each dtype of `data.schema.columns` (text stays str: pandas 3 strings).
PANDERA_DTYPES = {
    DType.INT: "Int64",
    DType.FLOAT: "float64",
    DType.CATEGORY: "str",
    DType.STRING: "str",
    DType.BOOL: "boolean",
}


def validate_table(frame: pd.DataFrame, cfg: DataConfig) -> tuple[pd.DataFrame, dict[str, str]]:
    """Check `frame` against the schema and decide the columns it does not list.

    Returns the table (listed columns coerced to their dtype, the others as
    `infer_columns` decided) and those decisions, or raises PipelineError.
    """
    _check_table(frame, cfg)
    table = validate_rows(frame, cfg)
    return infer_columns(table, skip={*schema_columns(cfg), cfg.target})


def schema_columns(cfg: DataConfig) -> dict[str, ColumnRule]:
    """The rules of the listed columns, the id column's included (unique text)."""
    columns = dict(cfg.schema.columns)
    if cfg.id_column and cfg.id_column not in columns:
        columns[cfg.id_column] = ColumnRule(dtype="string", unique=True)
    return columns


def validate_rows(frame: pd.DataFrame, cfg: DataConfig, unique: bool = True) -> pd.DataFrame:
    """The row-by-row checks of `validate_table`: values, the column rules, a mixed target.

    `unique=False` leaves uniqueness out, for a part of the table (compute=dask checks it across parts).
    Returns the table with the listed columns coerced to their dtype.
    """
    refuse_unusable_values(frame)
    columns = schema_columns(cfg)
    rules = columns if unique else {name: rule.model_copy(update={"unique": False}) for name, rule in columns.items()}
    table = _run_pandera(_numbers_as_text(frame, columns), rules, strict=cfg.schema.strict and bool(cfg.schema.columns))
    if cfg.task == "auto":
        refuse_mixed_target(table[cfg.target], cfg.target)
    return table


def _numbers_as_text(frame: pd.DataFrame, columns: dict[str, ColumnRule]) -> pd.DataFrame:
    """Numeric columns the schema calls category or string, as text: 2134.0 reads "2134", not "2134.0"."""
    out = frame
    for name, spec in columns.items():
        values = frame[name] if name in frame.columns else None
        if values is None or spec.dtype not in TEXT_DTYPES or not pd.api.types.is_numeric_dtype(values):
            continue
        integral = pd.api.types.is_float_dtype(values) and bool((values.dropna() % 1 == 0).all())
        text = (values.astype("Int64") if integral else values).astype(str)
        out = out.assign(**{name: text.where(values.notna())})
    return out


def _check_table(frame: pd.DataFrame, cfg: DataConfig) -> None:
    repeated = frame.columns[frame.columns.duplicated()]
    if len(repeated):
        raise PipelineError(f"column {repeated[0]!r} appears more than once in the data; rename or drop the copies")
    missing = {column: int(frame[column].isna().sum()) for column in frame.columns}
    check_table_counts(list(frame.columns), len(frame), missing, cfg)


def check_table_counts(columns: list[str], rows: int, missing: dict[str, int], cfg: DataConfig) -> None:
    """The table-wide rules, from counts: the target is there and complete, enough rows, not too many gaps."""
    schema = cfg.schema
    if cfg.target not in columns:
        found = ", ".join(map(str, columns[:8])) + (", ..." if len(columns) > 8 else "")
        raise PipelineError(f"target column {cfg.target!r} not in the data (found: {found}); set data.target")
    if missing[cfg.target]:
        raise PipelineError(f"target column {cfg.target!r} has {missing[cfg.target]} missing values; drop those rows")
    if rows < schema.min_rows:
        raise PipelineError(
            f"only {rows} rows, fewer than data.schema.min_rows={schema.min_rows}; add data or lower the limit"
        )
    for column in columns:
        spec = schema.columns.get(column)
        limit = (
            spec.max_missing_fraction if spec and spec.max_missing_fraction is not None else schema.max_missing_fraction
        )
        share = missing[column] / rows
        if share > limit:
            raise PipelineError(
                f"column {column!r} is {share:.1%} missing, above the {limit:.1%} allowed "
                "(data.schema.max_missing_fraction); fix the data or raise the limit"
            )


def _pandera_column(name: str, spec: ColumnRule) -> Any:
    import pandera.pandas as pa

    checks = []
    if spec.min is not None and spec.max is not None:
        checks.append(pa.Check.in_range(spec.min, spec.max, error=f"values outside [{spec.min:g}, {spec.max:g}]"))
    elif spec.min is not None:
        checks.append(pa.Check.ge(spec.min, error=f"values below {spec.min:g}"))
    elif spec.max is not None:
        checks.append(pa.Check.le(spec.max, error=f"values above {spec.max:g}"))
    if spec.allowed is not None:
        allowed = [str(v) for v in spec.allowed] if spec.dtype in ("category", "string") else list(spec.allowed)
        shown = ", ".join(map(str, allowed))
        checks.append(pa.Check.isin(allowed, error=f"unknown category (allowed: {shown})"))
    return pa.Column(PANDERA_DTYPES[spec.dtype], checks=checks, nullable=spec.nullable, unique=spec.unique, name=name)


def _run_pandera(frame: pd.DataFrame, columns: dict[str, ColumnRule], strict: bool) -> pd.DataFrame:
    import pandera.pandas as pa

    schema = pa.DataFrameSchema(
        {name: _pandera_column(name, spec) for name, spec in columns.items()},
        coerce=True,
        strict=strict,
    )
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise PipelineError(*_describe_failures(exc.failure_cases, columns)) from None


def _describe_failures(cases: pd.DataFrame, columns: dict[str, ColumnRule]) -> tuple[str, int | None]:
    """Turn pandera's failure table into one line (the first problem, and a count of the rest) and its first row."""
    problems: dict[tuple[str, str], list[Any]] = {}
    first_rows: dict[tuple[str, str], int] = {}
    for row in cases.itertuples(index=False):
        case = row.failure_case
        if isinstance(case, str) and case.startswith(("TypeError(", "ValueError(")):
            continue  # a range check tripping over a value that already failed its dtype
        check = "dtype" if str(row.check).startswith(("coerce_dtype", "dtype(")) else str(row.check)
        problems.setdefault((str(row.column), check), []).append(case)
        if pd.notna(row.index):
            first_rows[str(row.column), check] = min(int(row.index), first_rows.get((str(row.column), check), 2**62))
    if not problems:
        first = cases.iloc[0]
        return f"invalid data: column {first['column']!r}: {first['check']} ({first['failure_case']})", None
    (column, check), examples = next(iter(sorted(problems.items(), key=lambda item: _severity(item[0][1]))))
    example = _plain(examples[0])
    rows = f"{len(examples)} row" + ("s" if len(examples) != 1 else "")
    if check == "column_in_schema":
        message = f"unexpected column {example!r}: add it to data.schema.columns or drop it from the data"
    elif check == "column_in_dataframe":
        message = f"column {example!r} is missing from the data"
    elif check == "dtype":
        message = f"column {column!r} should be {columns[column].dtype} but holds {example!r}"
    elif check == "not_nullable":
        message = f"column {column!r} has missing values in {rows} but is not nullable"
    elif check == "field_uniqueness":
        message = f"column {column!r} should be unique but repeats {example!r}"
    else:
        message = f"column {column!r}: {check} in {rows} (e.g. {example!r})"
    more = len(problems) - 1
    return f"invalid data: {message}" + (f" (+{more} more problems)" if more else ""), first_rows.get((column, check))


def _severity(check: str) -> int:
    order = ("column_in_dataframe", "column_in_schema", "dtype", "not_nullable")
    return order.index(check) if check in order else len(order)


def infer_task(target: pd.Series, task: str = "auto") -> str:
    """The learning task for `target`: binary, multiclass or regression."""
    n_unique = int(target.nunique(dropna=True))
    if task == "auto":
        numeric = pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target)
        integral = numeric and bool((target.dropna() % 1 == 0).all())
        if numeric and not (integral and n_unique <= MAX_CLASSES):
            return Task.REGRESSION
        task = Task.BINARY if n_unique <= 2 else Task.MULTICLASS
    if task == Task.REGRESSION and not pd.api.types.is_numeric_dtype(target):
        raise PipelineError("data.task is regression but the target is not numeric; use a classification task")
    if task == Task.BINARY and n_unique > 2:
        raise PipelineError(f"data.task is binary but the target has {n_unique} classes; set data.task: multiclass")
    return task


def describe_features(
    frame: pd.DataFrame, cfg: DataConfig, task: str, dropped: list[str], target_counts: pd.Series | None = None
) -> FeatureSpec:
    """Split the columns into numeric and categorical features, and list the classes (binary: positive last).

    `target_counts`: the rows of each label, when `frame` holds only the columns' types (compute=dask).
    """
    numeric, categorical = [], []
    for column in frame.columns:
        if column in (cfg.target, cfg.id_column):
            continue
        spec = cfg.schema.columns.get(column)
        is_numeric = (
            spec.dtype in NUMERIC_DTYPES
            if spec
            else pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
        )
        (numeric if is_numeric else categorical).append(column)
    classes = None
    if task != Task.REGRESSION:
        counts = frame[cfg.target].value_counts() if target_counts is None else target_counts
        if len(counts) < 2:
            only = _plain(counts.index[0])
            raise PipelineError(f"target {cfg.target!r} has a single class ({only!r}); a classifier needs at least two")
        rare = counts[counts < cfg.schema.min_class_rows]
        if len(rare):
            raise PipelineError(
                f"class {_plain(rare.index[0])!r} of target {cfg.target!r} has {int(rare.iloc[0])} rows, fewer than "
                f"data.schema.min_class_rows={cfg.schema.min_class_rows}; add data or lower the limit"
            )
        classes = sorted(_plain(label) for label in counts.index)
    positive = None
    if task == Task.BINARY:
        assert classes is not None
        positive = positive_class(classes, cfg)
        classes = [label for label in classes if label != positive] + [positive]
    elif cfg.positive_class is not None:
        raise PipelineError(f"data.positive_class is set but the task is {task}; set it to null")
    if not numeric and not categorical:
        raise PipelineError("the data has no feature columns besides the target and id")
    return FeatureSpec(task, cfg.target, cfg.id_column, numeric, categorical, classes, positive, dropped)


def positive_class(classes: list[Any], cfg: DataConfig) -> Any:
    """The binary task's positive label: data.positive_class, or else the last label in sorted order."""
    if cfg.positive_class is None:
        return classes[-1]
    for label in classes:
        if label == cfg.positive_class or str(label) == str(cfg.positive_class):
            return label
    shown = ", ".join(describe_value(label) for label in classes)
    raise PipelineError(
        f"data.positive_class {describe_value(cfg.positive_class)} is not a label of target {cfg.target!r} "
        f"(labels: {shown})"
    )


def task_decision(features: FeatureSpec, cfg: DataConfig) -> str:
    """The task in a few words, and where it came from, e.g. `binary (inferred), positive class 'yes'`."""
    source = "inferred" if cfg.task == "auto" else "data.task"
    decision = f"{features.task} ({source})"
    if features.task == Task.BINARY:
        chosen = "data.positive_class" if cfg.positive_class is not None else "last in sorted order"
        decision += f", positive class {describe_value(features.positive_class)} ({chosen})"
    elif features.task == Task.MULTICLASS:
        decision += f", {len(features.classes or [])} classes"
    return decision


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (for messages and JSON)."""
    return value.item() if hasattr(value, "item") else value
