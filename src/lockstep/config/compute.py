"""`compute:` and conf/cluster.yaml: what runs the stages, and the cluster it runs them on.

`compute:` in params.yaml holds what changes the outputs' bytes (DVC records it);
conf/cluster.yaml holds how the work is spread (workers, partitions, a scheduler),
which changes how fast a stage runs and never a byte it writes: it stays out of
params.yaml, so dvc.lock is the same for any cluster.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ValidationError

from ..errors import PipelineError
from .base import Section, at_least, closed_set, one_line, rule
from .enums import Engine

MemoryLimit = Annotated[
    str,
    rule(
        lambda text: text[:1].isdigit() and text.rstrip("iBKMGT").replace(".", "", 1).isdigit(),
        "must be an amount of memory such as 4GiB or 3.5GB",
    ),
]


class ComputeConfig(Section):
    """The engine, and the two settings of it that change what the stages write."""

    engine: closed_set(Engine)
    # Rows per Parquet file of a partitioned table (compute=dask): the files' bytes depend on it.
    block_rows: Annotated[int, at_least(1)]
    # Both engines: train fits on at most about this many rows, picked by a hash of each row's id.
    max_train_rows: Annotated[int, at_least(1)]


class ClusterConfig(Section):
    """conf/cluster.yaml: where and how finely compute=dask spreads the work."""

    # A running scheduler (tcp://host:8786); null starts a LocalCluster for the stage and closes it after.
    scheduler: str | None
    # The LocalCluster's worker processes, threads per worker, and memory per worker.
    n_workers: Annotated[int, at_least(1)]
    threads_per_worker: Annotated[int, at_least(1)]
    memory_limit: MemoryLimit
    # Rows per Dask partition (a task's share of the table); a block is cut into partitions of at most this size.
    partition_rows: Annotated[int, at_least(1)]


def parse_cluster(raw: Any, where: str) -> ClusterConfig:
    """Check conf/cluster.yaml's mapping; one-line errors that name the file."""
    if not isinstance(raw, dict):
        raise PipelineError(f"invalid cluster settings: {where} must be a mapping of keys to values")
    try:
        return ClusterConfig.model_validate(raw)
    except ValidationError as exc:
        raise one_line(exc, where) from None
