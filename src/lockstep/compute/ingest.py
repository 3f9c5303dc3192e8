"""Ingest on Dask: the raw table as partitioned Parquet, made or read partition by partition."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from .. import paths
from ..config import Params, Source
from ..data.infer import declare_text
from ..data.ingest import parquet_text_columns, read_source_file, source_path
from ..errors import PipelineError
from ..io import atomic_dir
from .blocks import Partition, block_bounds, part_name, read_partition, write_block, write_parts
from .cluster import open_cluster

log = logging.getLogger(__name__)


def _synthetic_rows(partition: Partition, seed: int) -> pd.DataFrame:
    from ..data.synthetic import generate_rows

    return generate_rows(partition.first_row, partition.offset + partition.stop, seed)


def _source_rows(partition: Partition, source: Path, text_columns: list[str]) -> pd.DataFrame:
    # The source is one file: the partition's rows, counted from the table's start, are its rows.
    frame = read_partition(source, Partition(0, partition.first_row, partition.offset + partition.stop, 0))
    declare_text(frame, text_columns)
    return frame


def _write_block(folder: Path, block: int, *parts: pd.DataFrame) -> int:
    return write_parts(list(parts), folder / part_name(block))


def run_ingest(cfg: Params, output: Path = paths.RAW_DATASET) -> None:
    """Ingest stage on Dask: write the raw table to `output/` as block files, each made by its partitions' tasks."""
    ingest = cfg.data.ingest
    if ingest.source == Source.SYNTHETIC:
        assert ingest.n_rows is not None
        log.info("generating %s synthetic loan applications (seed %s)", f"{ingest.n_rows:,}", ingest.seed)
        make: Any = _synthetic_rows
        args: tuple[Any, ...] = (ingest.seed,)
        sizes = block_bounds(ingest.n_rows, cfg.compute.block_rows)
    else:
        source = source_path(ingest)
        if source.suffix.lower() not in (".parquet", ".pq"):
            # A CSV file has no row groups to read from several places at once: read it whole, as locally.
            frame = read_source_file(source)
            _write_in_process(frame.head(ingest.n_rows) if ingest.n_rows else frame, output, cfg.compute.block_rows)
            return
        rows, text_columns = _parquet_source(source)
        make, args = _source_rows, (source, text_columns)
        sizes = block_bounds(min(rows, ingest.n_rows or rows), cfg.compute.block_rows)
    with open_cluster() as cluster, atomic_dir(output) as folder:
        client, partitions = cluster.client, cluster.plan(sizes)
        parts = client.map(make, partitions, *[[arg] * len(partitions) for arg in args], pure=False)
        by_block: dict[int, list[Any]] = {}
        for partition, part in zip(partitions, parts, strict=True):
            by_block.setdefault(partition.block, []).append(part)
        writes = [client.submit(_write_block, folder, block, *blocks, pure=False) for block, blocks in by_block.items()]
        written = sum(client.gather(writes))
    log.info("wrote %s rows in %s blocks (%s partitions) to %s/", f"{written:,}", len(sizes), len(partitions), output)


def _parquet_source(source: Path) -> tuple[int, list[str]]:
    """A Parquet source's rows and text columns, refused with one line if it cannot be read or is empty."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(source).metadata
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{source}: cannot read data file: {str(exc).splitlines()[0]}") from None
    if metadata.num_rows == 0:
        raise PipelineError(f"{source}: data file has no rows")
    return metadata.num_rows, parquet_text_columns(source, pd.DataFrame(columns=list(metadata.schema.names)))


def _write_in_process(frame: pd.DataFrame, output: Path, block_rows: int) -> None:
    with atomic_dir(output) as folder:
        for block, start in enumerate(range(0, len(frame), block_rows)):
            part = frame.iloc[start : start + block_rows]
            part.attrs = dict(frame.attrs)
            write_block(part, folder / part_name(block))
    log.info("wrote %s rows to %s/", f"{len(frame):,}", output)
