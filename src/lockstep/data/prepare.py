"""Prepare: validate the raw table, then split it into train and test sets."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import paths
from ..config import Params, SplitConfig, SplitStrategy, Task
from ..contract.features import FeatureSpec
from ..errors import PipelineError
from .infer import DROPPED_DATETIME, describe_value
from .split import split_by_hash, split_by_time, split_train_test
from .validate import describe_features, infer_task, task_decision, validate_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedData:
    """The prepare stage's results, before they are written."""

    train: pd.DataFrame
    test: pd.DataFrame
    features: FeatureSpec
    summary: dict[str, Any]
    # What was inferred rather than configured: {"columns": {name: decision}, "task": decision}.
    decisions: dict[str, Any]


def prepare_data(raw: pd.DataFrame, cfg: Params) -> PreparedData:
    """Validate `raw` against the schema, infer the columns and the task, and split it."""
    table, column_decisions = validate_table(raw, cfg.data)
    task = infer_task(table[cfg.data.target], cfg.data.task)
    dropped = [name for name, decision in column_decisions.items() if decision == DROPPED_DATETIME]
    features = describe_features(table, cfg.data, task, dropped)
    decisions = {"columns": column_decisions, "task": task_decision(features, cfg.data)}
    if cfg.split.strategy == SplitStrategy.TIME:
        assert cfg.split.time_column is not None  # the schema requires it
        train, test = split_by_time(table, cfg.split.time_column, cfg.split.test_size)
    elif cfg.split.strategy == SplitStrategy.HASH:
        train, test = split_by_hash(table, cfg.data.id_column, cfg.split.test_size)
    else:
        stratify = cfg.split.stratify and task != Task.REGRESSION
        train, test = split_train_test(table, cfg.data.target, cfg.split.test_size, cfg.seed, stratify)
    for part, rows in (("train", train), ("test", test)):
        check_split(rows, part, features, cfg.split)
    summary = summarize(table, train, test, features) | {"inferred": decisions}
    return PreparedData(train, test, features, summary, decisions)


def check_split(rows: pd.DataFrame, part: str, features: FeatureSpec, cfg: SplitConfig) -> None:
    """Raise PipelineError if one side of the split is too small to train or to judge a model on."""
    counts = rows[features.target].value_counts() if features.classes is not None else None
    check_split_counts(len(rows), counts, part, features, cfg)


def check_split_counts(rows: int, counts: pd.Series | None, part: str, features: FeatureSpec, cfg: SplitConfig) -> None:
    """`check_split` from the side's row count and its rows per class (None for regression)."""
    advice = "add data or change split.test_size"
    if rows < cfg.min_rows:
        raise PipelineError(
            f"split.test_size={cfg.test_size:g} leaves {rows} rows in the {part} set, fewer than "
            f"split.min_rows={cfg.min_rows}; {advice}"
        )
    if features.classes is None or counts is None:
        return
    for label in features.classes:
        found = int(counts.get(label, 0))
        if found < cfg.min_class_rows:
            raise PipelineError(
                f"split.test_size={cfg.test_size:g} leaves {found} rows of class {describe_value(label)} in the "
                f"{part} set, fewer than split.min_class_rows={cfg.min_class_rows}; {advice}"
            )


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
    if features.task == Task.BINARY:
        summary["positive_rate"] = float((target == features.positive_class).mean())
    elif features.task == Task.MULTICLASS:
        summary["classes"] = len(features.classes or [])
    else:
        summary["target_mean"] = float(target.mean())
        summary["target_std"] = float(target.std())
    return summary


def run_prepare(cfg: Params, raw_path: Path = paths.RAW_DATASET) -> PreparedData:
    """Prepare stage: read the raw table, prepare it, and write the outputs."""
    from ..io import write_json, write_parquet

    if not raw_path.is_file():
        raise PipelineError(f"{raw_path} not found: run the ingest stage first (`dvc repro ingest`)")
    prepared = prepare_data(pd.read_parquet(raw_path), cfg)
    for column, decision in prepared.decisions["columns"].items():
        log.info("column %s: %s", column, decision)
    log.info("task: %s", prepared.decisions["task"])
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
