"""Train on Dask: gather the training sample partition by partition, then fit as the local stage does.

The model is one scikit-learn Pipeline, fitted in one process on the rows the
local stage would fit on: all the training rows up to `compute.max_train_rows`,
else about that many, picked by a hash of each row's id (docs/scale.md says why).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from .. import paths
from ..config import Params
from ..data.split import in_training_sample
from ..modeling.train import fit_and_save, load_features
from .blocks import Partition, block_sizes, read_partition
from .cluster import Cluster, open_cluster

log = logging.getLogger(__name__)


def _sampled(partition: Partition, table: Path, id_column: str | None, train_rows: int, max_rows: int) -> pd.DataFrame:
    frame = read_partition(table, partition)
    return frame[in_training_sample(frame, id_column, train_rows, max_rows)]


def gather_training_sample(cfg: Params, cluster: Cluster, id_column: str | None) -> pd.DataFrame:
    """The training rows the model learns from, in row order, whatever the partitions."""
    sizes = block_sizes(paths.TRAIN_SET)
    args = (paths.TRAIN_SET, id_column, sum(sizes), cfg.compute.max_train_rows)
    parts = cluster.map(_sampled, cluster.plan(sizes), *args, what="sample")
    sample = pd.concat(parts, ignore_index=True)
    log.info("training sample: %s of %s rows", f"{len(sample):,}", f"{sum(sizes):,}")
    return sample


def run_train(cfg: Params) -> None:
    """Train stage on Dask."""
    features = load_features()
    with open_cluster() as cluster:
        sample = gather_training_sample(cfg, cluster, features.id_column)
    fit_and_save(sample, features, cfg)
