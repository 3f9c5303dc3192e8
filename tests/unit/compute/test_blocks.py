"""Partitioned Parquet: partitions cut blocks finer and never change what is read or written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lockstep.compute.blocks import (
    ROW_GROUP_ROWS,
    block_bounds,
    block_files,
    block_sizes,
    part_name,
    plan_partitions,
    read_partition,
    write_block,
)
from lockstep.errors import PipelineError


def test_blocks_have_the_block_size_but_the_last() -> None:
    assert block_bounds(25, 10) == [10, 10, 5]
    assert block_bounds(20, 10) == [10, 10]
    assert block_bounds(3, 10) == [3]


@pytest.mark.parametrize("partition_rows", [1, 3, 7, 10, 1000])
def test_partitions_cover_every_row_once_in_order_inside_their_block(partition_rows: int) -> None:
    sizes = [10, 10, 5]
    partitions = plan_partitions(sizes, partition_rows)
    rows = [row for p in partitions for row in range(p.first_row, p.offset + p.stop)]
    assert rows == list(range(sum(sizes)))
    for partition in partitions:
        assert 0 < partition.stop - partition.start <= max(partition_rows, 1)
        assert partition.stop <= sizes[partition.block]
    assert len(plan_partitions(sizes, 1000)) == len(sizes)  # a partition never spans two blocks


@pytest.fixture
def table(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """Two blocks, the first of three row groups (the last one short)."""
    rows = 2 * ROW_GROUP_ROWS + 1000
    # Names long enough that a column takes several data pages: pages are where chunked parts would show.
    frame = pd.DataFrame({"x": np.arange(rows + 10), "name": [f"row-{i:016d}" for i in range(rows + 10)]})
    folder = tmp_path / "table.parquet"
    folder.mkdir()
    write_block(frame.iloc[:rows], folder / part_name(0))
    write_block(frame.iloc[rows:], folder / part_name(1))
    return folder, frame


@pytest.mark.parametrize("partition_rows", [ROW_GROUP_ROWS - 1, 50_000, 10**9])
def test_reading_the_partitions_gives_the_table_whatever_their_size(
    table: tuple[Path, pd.DataFrame], partition_rows: int
) -> None:
    folder, frame = table
    assert block_sizes(folder) == [2 * ROW_GROUP_ROWS + 1000, 10]
    parts = [read_partition(folder, p) for p in plan_partitions(block_sizes(folder), partition_rows)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), frame)


def test_a_block_s_bytes_depend_on_its_rows_alone(tmp_path: Path, table: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = table
    pieces = [read_partition(folder, p) for p in plan_partitions(block_sizes(folder), 999) if p.block == 0]
    write_block(pd.concat(pieces, ignore_index=True), tmp_path / "again.parquet")
    assert (tmp_path / "again.parquet").read_bytes() == (folder / part_name(0)).read_bytes()


def test_a_file_is_a_table_of_one_block_and_a_missing_folder_says_what_to_run(tmp_path: Path) -> None:
    single = tmp_path / "one.parquet"
    pd.DataFrame({"x": [1, 2]}).to_parquet(single)
    assert block_files(single) == [single]
    with pytest.raises(PipelineError, match=r"not found: run the stage that writes it first"):
        block_files(tmp_path / "absent.parquet")


def test_a_parquet_source_is_read_by_the_partitions_of_the_blocks_it_will_become(tmp_path: Path) -> None:
    from lockstep.compute.ingest import _source_rows

    source = tmp_path / "source.parquet"
    frame = pd.DataFrame({"x": np.arange(25_000), "name": [f"r{i}" for i in range(25_000)]})
    write_block(frame, source)  # one file, as a user's source is
    partitions = plan_partitions(block_bounds(len(frame), 10_000), 3_000)
    assert {p.block for p in partitions} == {0, 1, 2}
    parts = [_source_rows(partition, source, ["name"]) for partition in partitions]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), frame)
    assert parts[-1].attrs == {"text_columns": ["name"]}
