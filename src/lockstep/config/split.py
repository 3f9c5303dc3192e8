"""`split:`: how the prepared table is split into train and test sets."""

from __future__ import annotations

from typing import Annotated

from pydantic import model_validator

from .base import Section, at_least, closed_set, rule
from .enums import SplitStrategy

# A test set larger than the training set is almost always a mistake.
MAX_TEST_SIZE = 0.5


class SplitConfig(Section):
    """The train/test split."""

    test_size: Annotated[
        float,
        rule(
            lambda size: 0 < size <= MAX_TEST_SIZE,
            f"must be above 0 and at most {MAX_TEST_SIZE} (the test set should not outgrow the training set)",
        ),
    ]
    stratify: bool
    min_rows: Annotated[int, at_least(1)]
    min_class_rows: Annotated[int, at_least(1)]
    strategy: closed_set(SplitStrategy)
    time_column: str | None

    @model_validator(mode="after")
    def _time_needs_a_column(self) -> SplitConfig:
        if self.strategy == SplitStrategy.TIME and not self.time_column:
            raise ValueError("split.time_column must name the data's timestamp column when split.strategy is 'time'")
        return self
