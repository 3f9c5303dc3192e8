"""Partitioned Parquet: a table as a folder of block files, read and written partition by partition.

A table's rows are cut into file blocks of `compute.block_rows` (the last one shorter),
so the files' bytes depend on the rows alone. A partition, a task's share, is a
range of rows inside one block: more partitions cut the blocks finer, and never
change a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pandas as pd

from ..errors import PipelineError
from ..io import PANDAS_ATTRS, write_parquet

ROW_GROUP_ROWS = 65_536  # a partition reads only the row groups it covers
PART_GLOB = "part-*.parquet"


@dataclass(frozen=True)
class Partition:
    """Rows [start, stop) of block `block`; `offset` is the block's first row in the whole table."""

    block: int
    start: int
    stop: int
    offset: int

    @property
    def first_row(self) -> int:
        """The partition's first row, counted in the whole table."""
        return self.offset + self.start


def part_name(block: int) -> str:
    """The file name of block `block`."""
    return f"part-{block:05d}.parquet"


def block_files(table: Path) -> list[Path]:
    """A table's block files in row order: the files of a folder, or the file itself."""
    if table.is_file():
        return [table]
    files = sorted(table.glob(PART_GLOB))
    if not files:
        raise PipelineError(f"{table} not found: run the stage that writes it first (`dvc repro`)")
    return files


def block_sizes(table: Path) -> list[int]:
    """The rows of each block of `table`, from the files' footers."""
    import pyarrow.parquet as pq

    return [pq.ParquetFile(path).metadata.num_rows for path in block_files(table)]


def block_bounds(rows: int, block_rows: int) -> list[int]:
    """The sizes of the blocks of a `rows`-row table: `block_rows` each, the last one shorter."""
    return [min(block_rows, rows - start) for start in range(0, rows, block_rows)]


def plan_partitions(sizes: list[int], partition_rows: int) -> list[Partition]:
    """Cut each block of `sizes` rows into partitions of at most `partition_rows` rows, in row order."""
    partitions, offset = [], 0
    for block, size in enumerate(sizes):
        pieces = max(1, -(-size // partition_rows))
        bounds = [size * i // pieces for i in range(pieces + 1)]
        partitions += [Partition(block, lo, hi, offset) for lo, hi in pairwise(bounds)]
        offset += size
    return partitions


def read_partition(table: Path, partition: Partition, columns: list[str] | None = None) -> pd.DataFrame:
    """The partition's rows of `table` (only the row groups that hold them are read), indexed from 0."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(block_files(table)[partition.block])
    groups, first, seen = [], None, 0
    for group in range(file.metadata.num_row_groups):
        rows = file.metadata.row_group(group).num_rows
        if seen + rows > partition.start and seen < partition.stop:
            groups.append(group)
            first = seen if first is None else first
        seen += rows
    data = file.read_row_groups(groups, columns=columns, use_pandas_metadata=True)
    assert first is not None
    frame = data.slice(partition.start - first, partition.stop - partition.start).to_pandas().reset_index(drop=True)
    attrs = (file.schema_arrow.metadata or {}).get(PANDAS_ATTRS)
    if attrs:  # what pandas keeps of a table's attrs (the ingest's record of text columns), as read_parquet does
        frame.attrs = json.loads(attrs)
    return frame


def write_parts(parts: list[pd.DataFrame], path: Path) -> int:
    """Write a block made of its partitions' rows, in order (the first part's attrs kept); its row count."""
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame.attrs = dict(parts[0].attrs)  # concat drops attrs that are not the same object
    write_block(frame, path)
    return len(frame)


def write_block(frame: pd.DataFrame, path: Path) -> None:
    """Write one block file: no index, fixed row groups, one chunk a column, so equal rows give equal bytes."""
    write_parquet(frame, path, row_group_size=ROW_GROUP_ROWS)
