"""The Dask cluster a stage runs on: the configured scheduler, or a LocalCluster started for the stage."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ClusterConfig, load_cluster
from ..errors import PipelineError
from ..numerics import settings
from .blocks import Partition, block_sizes, plan_partitions

log = logging.getLogger(__name__)


def _worker_environment(keys: Sequence[str]) -> dict[str, str | None]:
    return {key: os.environ.get(key) for key in keys}


def _peak_memory() -> int:
    """The peak resident memory of the process, in bytes (Linux counts it in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass(frozen=True)
class Cluster:
    """The stage's Dask client, and how finely it cuts the work."""

    client: Any
    settings: ClusterConfig

    def plan(self, sizes: list[int]) -> list[Partition]:
        """The partitions of a table whose blocks hold `sizes` rows."""
        return plan_partitions(sizes, self.settings.partition_rows)

    def partitions_of(self, table: Path) -> list[Partition]:
        """The partitions of the partitioned table at `table`."""
        return self.plan(block_sizes(table))

    def map(self, function: Callable[..., Any], items: Sequence[Any], *args: Any, what: str) -> list[Any]:
        """`function(item, *args)` for every item, on the cluster; the results in the items' order."""
        return map_in_order(self.client, function, items, *args, what=what)


@contextlib.contextmanager
def open_cluster(cfg: ClusterConfig | None = None) -> Iterator[Cluster]:
    """The cluster conf/cluster.yaml names, or a LocalCluster started for the stage and closed when it ends."""
    cfg = cfg or load_cluster()
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise PipelineError("compute.engine is dask but Dask is not installed: `uv sync --extra dask`") from None
    logging.getLogger("distributed").setLevel(logging.WARNING)  # its workers' comings and goings
    cluster = None
    if cfg.scheduler:
        try:
            client = Client(cfg.scheduler, timeout="30s")
        except OSError as exc:
            raise PipelineError(
                f"conf/cluster.yaml: scheduler {cfg.scheduler}: cannot connect ({exc}); start the scheduler, "
                "or set scheduler: null for a LocalCluster"
            ) from None
    else:
        cluster = LocalCluster(
            n_workers=cfg.n_workers,
            threads_per_worker=cfg.threads_per_worker,
            memory_limit=cfg.memory_limit,
            processes=True,
            dashboard_address=":0",  # any free port: two projects' stages may run at once
            silence_logs=logging.ERROR,
            # The pinned numerical environment, PYTHONHASHSEED included: a nanny would set its own.
            env=settings(os.environ),
        )
        client = Client(cluster)
    try:
        workers = len(client.scheduler_info()["workers"])
        log.info("Dask: %s workers, dashboard at %s", workers, client.dashboard_link)
        _check_numerics(client)
        yield Cluster(client, cfg)
        peaks = sorted(client.run(_peak_memory).values())
        log.info("Dask workers' peak memory: %s", ", ".join(f"{peak / 2**30:.2f} GiB" for peak in peaks))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _check_numerics(client: Any) -> None:
    """Refuse workers outside the pinned numerical environment: their floats could differ in the last bit."""
    wanted = settings(os.environ)
    for worker, found in sorted(client.run(_worker_environment, sorted(wanted)).items()):
        for key, value in sorted(wanted.items()):
            if found.get(key) != value:
                raise PipelineError(
                    f"Dask worker {worker} runs with {key}={found.get(key)!r}, not {value!r}: start the workers "
                    "in the project's environment (docs/scale.md, 'Scale out')"
                )


def map_in_order(client: Any, function: Callable[..., Any], items: Sequence[Any], *args: Any, what: str) -> list[Any]:
    """`function(item, *args)` for every item on the cluster; the results in the items' order.

    Logs progress as tasks finish (in any order); the merge that follows sees them in row order.
    """
    from distributed import as_completed

    futures = client.map(function, items, *[[arg] * len(items) for arg in args], pure=False)
    step = max(1, len(futures) // 10)
    for done, _ in enumerate(as_completed(futures), start=1):
        if done % step == 0 or done == len(futures):
            log.info("%s: %s/%s partitions", what, done, len(futures))
    return client.gather(futures)
