"""Train: fit one Pipeline (preprocessing + model) on the training set."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd
from sklearn.pipeline import Pipeline

from .. import paths
from ..config import Params
from ..contract.features import FeatureSpec
from ..errors import PipelineError
from .estimator import build_estimator
from .features import build_preprocessor

log = logging.getLogger(__name__)


def build_pipeline(features: FeatureSpec, cfg: Params) -> Pipeline:
    """The untrained Pipeline: the ColumnTransformer, then the configured model."""
    return Pipeline(
        [
            ("preprocess", build_preprocessor(features, cfg.features)),
            ("model", build_estimator(cfg.model, features.task, cfg.extra_model_libraries)),
        ]
    )


def train_model(train: pd.DataFrame, features: FeatureSpec, cfg: Params) -> Pipeline:
    """Fit the Pipeline on `train` and return it."""
    pipeline = build_pipeline(features, cfg)
    name = type(pipeline.named_steps["model"]).__name__
    log.info("fitting %s on %s rows x %s columns", name, f"{len(train):,}", len(features.columns))
    started = time.perf_counter()
    try:
        pipeline.fit(train[features.columns], train[features.target])
    except ValueError as exc:  # e.g. a solver that does not support the chosen penalty
        raise PipelineError(f"model: {name} cannot be fitted: {str(exc).splitlines()[0]}") from None
    log.info("fitted %s in %.1f s", name, time.perf_counter() - started)
    return pipeline


def load_features(path: Path = paths.FEATURES_FILE) -> FeatureSpec:
    """Read the feature description the prepare stage wrote."""
    from ..io import read_json

    if not path.is_file():
        raise PipelineError(f"{path} not found: run the prepare stage first (`dvc repro prepare`)")
    return FeatureSpec(**read_json(path))


def run_train(cfg: Params) -> Pipeline:
    """Train stage: fit on the training set (or its sample), save the model with skops and its contract beside it."""
    from ..data.split import training_sample

    features = load_features()
    train = training_sample(pd.read_parquet(paths.TRAIN_SET), features.id_column, cfg.compute.max_train_rows)
    return fit_and_save(train, features, cfg)


def fit_and_save(train: pd.DataFrame, features: FeatureSpec, cfg: Params) -> Pipeline:
    """Fit on `train`, then write the model, its trusted types and its contract (both engines end here)."""
    from ..contract.model_contract import build_contract, write_contract
    from ..contract.trust import model_libraries
    from .persistence import save_model

    pipeline = train_model(train, features, cfg)
    types = save_model(pipeline, paths.MODEL_FILE, paths.MODEL_TYPES, model_libraries(cfg.extra_model_libraries))
    write_contract(build_contract(features, cfg, types), paths.MODEL_CONTRACT)
    log.info(
        "saved %s (%s types beyond skops' defaults, in %s) and %s",
        paths.MODEL_FILE,
        len(types),
        paths.MODEL_TYPES,
        paths.MODEL_CONTRACT,
    )
    return pipeline
