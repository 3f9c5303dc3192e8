"""Evaluate on Dask: predict partition by partition, then score the whole test set exactly, as locally.

The workers predict their partitions with the one model (the same bits as one
call on the whole table: scikit-learn scores each row on its own). The driver
gathers the predictions and the categorical columns in row order, and the local
stage's own code computes every metric on all of them: ROC AUC by a full sort,
no sketch.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import paths
from ..config import Params
from ..contract.model_contract import ModelContract
from ..evaluation.evaluate import evaluate_predictions, importance_positions, load_model_and_spec, write_evaluation
from ..evaluation.metrics import predict
from .blocks import Partition, block_sizes, read_partition
from .cluster import open_cluster
from .train import gather_training_sample

log = logging.getLogger(__name__)


def _predict_partition(
    partition: Partition, table: Path, model: Any, contract: ModelContract, keep: list[str], wanted: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The partition's predictions, its `keep` columns, and its rows among `wanted` (positions in the table)."""
    frame = read_partition(table, partition)
    predictions = predict(model, frame, contract)
    if contract.id_column is None:  # rows are numbered in the whole table, not in the partition
        predictions["id"] = predictions["id"] + partition.first_row
    first = partition.first_row
    mine = wanted[(wanted >= first) & (wanted < first + len(frame))] - first
    return predictions, frame[keep], frame.iloc[mine]


def run_evaluate(cfg: Params) -> None:
    """Evaluate stage on Dask."""
    model, features, contract = load_model_and_spec(cfg)
    sizes = block_sizes(paths.TEST_SET)
    wanted = importance_positions(sum(sizes), cfg.evaluate.importance_max_rows, cfg.seed)
    with open_cluster() as cluster:
        shared = cluster.client.scatter(model, broadcast=True)
        args = (paths.TEST_SET, shared, contract, features.categorical, wanted)
        parts = cluster.map(_predict_partition, cluster.plan(sizes), *args, what="predict")
        trained_on = gather_training_sample(cfg, cluster, features.id_column)
    log.info("predicted %s test rows", f"{sum(sizes):,}")
    predictions, slice_columns, sample = (pd.concat(column, ignore_index=True) for column in zip(*parts, strict=True))
    del parts
    evaluation = evaluate_predictions(model, predictions, sample, slice_columns, features, contract, cfg)
    write_evaluation(model, features, contract, evaluation, trained_on, cfg)
