"""`features:`: how the ColumnTransformer prepares columns before the model sees them."""

from __future__ import annotations

from typing import Annotated, Literal

from .base import Section, rule


class FeaturesConfig(Section):
    """Imputation, scaling and rare categories."""

    numeric_imputer: Literal["mean", "median", "most_frequent"]
    scale_numeric: bool
    categorical_imputer: Literal["most_frequent", "constant"]
    min_category_frequency: Annotated[float, rule(lambda share: 0 <= share < 1, "must be in [0, 1)")]
