"""Features: the ColumnTransformer that turns raw columns into model inputs.

It lives inside the trained Pipeline, so the model that is served prepares
its inputs exactly as the model that was evaluated did.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..config import FeaturesConfig
from ..contract.features import FeatureSpec


def build_preprocessor(features: FeatureSpec, cfg: FeaturesConfig) -> ColumnTransformer:
    """Impute and scale numeric columns; impute and one-hot encode categorical ones."""
    numeric_steps: list[tuple[str, object]] = [("impute", SimpleImputer(strategy=cfg.numeric_imputer))]
    if cfg.scale_numeric:
        numeric_steps.append(("scale", StandardScaler()))
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy=cfg.categorical_imputer, fill_value="missing")),
            (
                "encode",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=cfg.min_category_frequency or None,
                    sparse_output=False,
                ),
            ),
        ]
    )
    return ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), features.numeric),
            ("categorical", categorical, features.categorical),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
