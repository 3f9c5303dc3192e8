"""Prepare: validate the raw table, then split it into train and test sets."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import paths
from ..config import Config
from ..errors import PipelineError
from .split import split_train_test
from .validate import FeatureSpec, describe_features, infer_task, validate_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedData:
    """The prepare stage's results, before they are written."""

    train: pd.DataFrame
    test: pd.DataFrame
    features: FeatureSpec
    summary: dict[str, Any]


def prepare_data(raw: pd.DataFrame, cfg: Config) -> PreparedData:
    """Validate `raw` against the schema, infer the task, and split it."""
    table = validate_table(raw, cfg.data)
    task = infer_task(table[cfg.data.target], cfg.data.task)
    features = describe_features(table, cfg.data, task)
    stratify = cfg.split.stratify and task != "regression"
    train, test = split_train_test(table, cfg.data.target, cfg.split.test_size, cfg.seed, stratify)
    if train.empty or test.empty:
        raise PipelineError(f"split.test_size={cfg.split.test_size} leaves an empty train or test set")
    return PreparedData(train, test, features, summarize(table, train, test, features))


def summarize(table: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, features: FeatureSpec) -> dict[str, Any]:
    """Dataset figures worth tracking from one revision to the next."""
    summary: dict[str, Any] = {
        "rows": len(table),
        "train_rows": len(train),
        "test_rows": len(test),
        "numeric_features": len(features.numeric),
        "categorical_features": len(features.categorical),
        "missing_fraction": float(table[features.columns].isna().to_numpy().mean()),
    }
    target = table[features.target]
    if features.task == "binary":
        positive = features.classes[-1] if features.classes else None
        summary["positive_rate"] = float((target == positive).mean())
    elif features.task == "multiclass":
        summary["classes"] = len(features.classes or [])
    else:
        summary["target_mean"] = float(target.mean())
        summary["target_std"] = float(target.std())
    return summary


def run_prepare(cfg: Config, raw_path: Path = paths.RAW_DATASET) -> PreparedData:
    """Prepare stage: read the raw table, prepare it, and write the outputs."""
    from ..io import write_json, write_parquet

    if not raw_path.is_file():
        raise PipelineError(f"{raw_path} not found: run the ingest stage first (`dvc repro ingest`)")
    prepared = prepare_data(pd.read_parquet(raw_path), cfg)
    log.info(
        "%s task, %s numeric + %s categorical features; %s train / %s test rows",
        prepared.features.task,
        len(prepared.features.numeric),
        len(prepared.features.categorical),
        f"{len(prepared.train):,}",
        f"{len(prepared.test):,}",
    )
    write_parquet(prepared.train, paths.TRAIN_SET)
    write_parquet(prepared.test, paths.TEST_SET)
    write_json(prepared.features.to_dict(), paths.FEATURES_FILE)
    write_json(prepared.summary, paths.DATA_METRICS)
    return prepared
