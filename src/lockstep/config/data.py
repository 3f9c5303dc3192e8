"""`data:`: where the raw table comes from, its target and task, and the schema it must meet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from .base import Section, Seed, at_least, closed_set, rule
from .enums import NUMERIC_DTYPES, DType, Source, TaskSetting

# The synthetic generator holds its table in memory: about 165 bytes a row, twice over while it is assembled.
Fraction = Annotated[float, rule(lambda value: 0 <= value <= 1, "must be in [0, 1]")]


class IngestConfig(Section):
    """Where the raw table comes from (`data.ingest`)."""

    source: closed_set(Source)
    path: str | None
    n_rows: int | None
    seed: Seed

    @model_validator(mode="after")
    def _source_needs(self) -> IngestConfig:
        if self.source == Source.FILE and not self.path:
            raise ValueError("data.ingest.path is required when source is 'file'")
        if self.source == Source.SYNTHETIC and (self.n_rows or 0) <= 0:
            raise ValueError("data.ingest.n_rows must be a positive integer")
        return self


class ColumnRule(Section):
    """What one column must be: its type, range, categories, missing values and uniqueness.

    The one definition of a column rule: prepare checks the raw table with it, and
    the model contract carries its row-level part (`contract.InputColumn`) to serving.
    Absent keys mean "no such rule".
    """

    dtype: closed_set(DType)
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    nullable: bool = False
    unique: bool = False
    max_missing_fraction: Fraction | None = None

    @property
    def numeric(self) -> bool:
        """Whether the value is a number (int or float)."""
        return self.dtype in NUMERIC_DTYPES


class SchemaConfig(Section):
    """Table-level checks, plus per-column rules (`data.schema`)."""

    min_rows: Annotated[int, at_least(2)]
    min_class_rows: int
    max_missing_fraction: Fraction
    columns: dict[str, ColumnRule]
    # True: a column the data has and `columns` does not list is an error (once any is listed).
    # False: listed columns are checked, the others inferred.
    strict: bool = True


class DataConfig(Section):
    """The dataset: its source, target, task and schema (`data:`)."""

    name: str | None
    ingest: IngestConfig
    target: str
    id_column: str | None
    task: closed_set(TaskSetting)
    positive_class: Any = Field(description="a label of the target, or null")
    schema_: SchemaConfig = Field(alias="schema")

    @field_validator("positive_class")
    @classmethod
    def _one_label(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str | int | bool):
            raise ValueError("must be one label of the target (text, integer or bool), or null")
        return value

    @property
    def schema(self) -> SchemaConfig:  # type: ignore[override]
        """`data.schema` (pydantic keeps `schema` for itself, so the field is `schema_`)."""
        return self.schema_

    @property
    def dataset_name(self) -> str:
        """`name`, or else the data file's name without its suffix (the source's name for synthetic data)."""
        if self.name:
            return self.name
        return Path(self.ingest.path).stem if self.ingest.path else str(self.ingest.source)
