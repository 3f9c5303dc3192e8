"""Prepare on Dask: the local stage's checks, partition by partition, then the hash split written block by block.

Every row rule runs in its partition; what needs the whole table (row and gap
counts, uniqueness, the classes, the inferred columns) is merged from the
partitions in row order, with the local stage's messages. The split is a hash
of each row's id, so a partition splits its rows on its own.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import paths
from ..config import Params, SplitStrategy, Task
from ..contract.features import FeatureSpec
from ..data.infer import DROPPED_DATETIME, apply_decision, infer_column, is_text
from ..data.prepare import check_split_counts
from ..data.split import is_test_row, row_hashes
from ..data.validate import (
    check_table_counts,
    describe_features,
    infer_task,
    schema_columns,
    task_decision,
    validate_rows,
)
from ..errors import PipelineError
from ..io import atomic_dir, write_json
from .blocks import Partition, part_name, read_partition, write_parts
from .cluster import Cluster, open_cluster
from .exact import exact_sum

log = logging.getLogger(__name__)
UNIQUE_KEY = "unique-check-key"
LABELS_KEPT = 1_000  # a target with more distinct values than this is a regression target


@dataclass
class PartitionCheck:
    """What one partition tells the merge: counts, its first problem, and what needs the whole table."""

    rows: int
    missing: dict[str, int]
    problem: str | None = None
    hashes: dict[str, np.ndarray] = field(default_factory=dict)
    labels: pd.Series | None = None  # rows per target value; None: more than LABELS_KEPT values
    text: dict[str, pd.Series] = field(default_factory=dict)  # the unlisted text columns, for their decision
    types: pd.DataFrame | None = None  # the validated columns' types, no rows


def _check_partition(partition: Partition, raw: Path, cfg: Params) -> PartitionCheck:
    frame = read_partition(raw, partition)
    check = PartitionCheck(len(frame), {column: int(frame[column].isna().sum()) for column in frame.columns})
    try:
        table = validate_rows(frame, cfg.data, unique=False)
    except PipelineError as exc:
        first, last = partition.first_row, partition.first_row + len(frame) - 1
        check.problem = (
            f"{exc} (first at row {first + exc.row})" if exc.row is not None else f"{exc} (in rows {first}-{last})"
        )
        return check
    listed = schema_columns(cfg.data)
    check.hashes = {name: np.sort(row_hashes(table, name, UNIQUE_KEY)) for name, rule in listed.items() if rule.unique}
    labels = table[cfg.data.target].value_counts(dropna=True)
    check.labels = labels if len(labels) <= LABELS_KEPT else None
    unlisted = [name for name in table.columns if name not in listed and name != cfg.data.target]
    check.text = {name: table[name] for name in unlisted if is_text(table[name])}
    check.types = table.iloc[:0]
    return check


def merged_counts(counts: list[pd.Series | None]) -> pd.Series | None:
    """Rows per label, added up over the partitions; None if a partition had too many labels to count."""
    if any(part is None for part in counts):
        return None
    return pd.concat(counts).groupby(level=0).sum()


def _merge_labels(checks: list[PartitionCheck]) -> pd.Series | None:
    counts = merged_counts([check.labels for check in checks])
    return counts if counts is not None and len(counts) <= LABELS_KEPT else None


def _refuse_repeats(checks: list[PartitionCheck], partitions: list[Partition], raw: Path, cluster: Cluster) -> None:
    """Uniqueness across partitions: sorted hashes merged; a repeat is named with its rows."""
    for name in list(checks[0].hashes):
        hashes = np.concatenate([check.hashes.pop(name) for check in checks])
        hashes.sort()  # in place: at 100M rows the array is 800 MB
        repeated = hashes[1:][hashes[1:] == hashes[:-1]]
        if not len(repeated):
            continue
        found = cluster.map(_rows_with_hash, partitions, raw, name, int(repeated[0]), what="find the repeat")
        rows = [row for part in found for row in part]
        (first, value), (second, _) = rows[0], rows[1]
        raise PipelineError(
            f"invalid data: column {name!r} should be unique but repeats {value!r} (rows {first} and {second})"
        )


def _rows_with_hash(partition: Partition, raw: Path, name: str, wanted: int) -> list[tuple[int, Any]]:
    frame = read_partition(raw, partition, columns=[name])
    hits = np.flatnonzero(row_hashes(frame, name, UNIQUE_KEY) == np.uint64(wanted))
    return [(partition.first_row + int(row), frame[name].iloc[row]) for row in hits]


def _decide_columns(checks: list[PartitionCheck], cfg: Params) -> dict[str, str]:
    """The unlisted columns' decisions, from the whole of each column, as the local stage makes them."""
    types = checks[0].types
    assert types is not None
    listed = schema_columns(cfg.data)
    decisions = {}
    typed_text = set(types.attrs.get("text_columns", []))
    for name in types.columns:
        if name in listed or name == cfg.data.target:
            continue
        if name in checks[0].text:
            values = pd.concat([check.text.pop(name) for check in checks], ignore_index=True)
        else:
            values = types[name]  # its type decides: numbers, booleans, dates
        _, decisions[name] = infer_column(name, values, name in typed_text)
    return decisions


def check_table(checks: list[PartitionCheck], cfg: Params) -> None:
    """The local stage's checks, in its order: table-wide counts first, then the first row problem."""
    columns = list(checks[0].missing)
    missing = {column: sum(check.missing[column] for check in checks) for column in columns}
    check_table_counts(columns, sum(check.rows for check in checks), missing, cfg.data)
    for check in checks:
        if check.problem:
            raise PipelineError(check.problem)


@dataclass
class SplitPart:
    """One partition's train and test rows, and the figures the summary adds up (the driver gets only those)."""

    train: pd.DataFrame
    test: pd.DataFrame
    train_rows: int
    test_rows: int
    missing_cells: int
    train_labels: pd.Series | None
    test_labels: pd.Series | None
    target_sum: Fraction = Fraction(0)
    target_squares: Fraction = Fraction(0)

    def figures(self) -> SplitPart:
        """The part without its rows."""
        return replace(self, train=pd.DataFrame(), test=pd.DataFrame())


def _split_partition(
    partition: Partition, raw: Path, cfg: Params, decisions: dict[str, str], features: FeatureSpec
) -> SplitPart:
    table = validate_rows(read_partition(raw, partition), cfg.data, unique=False)
    table.attrs.pop("text_columns", None)  # applied below; the prepared sets do not carry it
    for name, decision in decisions.items():
        column = apply_decision(table[name], decision)
        table = table.drop(columns=name) if column is None else table.assign(**{name: column})
    test_rows = is_test_row(table, cfg.data.id_column, cfg.split.test_size)
    train, test = table[~test_rows].reset_index(drop=True), table[test_rows].reset_index(drop=True)
    classified = features.classes is not None
    part = SplitPart(
        train,
        test,
        len(train),
        len(test),
        int(table[features.columns].isna().to_numpy().sum()),
        train[features.target].value_counts() if classified else None,
        test[features.target].value_counts() if classified else None,
    )
    if not classified:
        values = table[features.target].to_numpy(dtype=float)
        part.target_sum, part.target_squares = exact_sum(values), exact_sum(values * values)
    return part


def _write_side(folder: Path, block: int, side: str, *parts: SplitPart) -> None:
    write_parts([getattr(part, side) for part in parts], folder / part_name(block))


def _figures(part: SplitPart) -> SplitPart:
    return part.figures()


def _labels(parts: list[SplitPart], side: str) -> pd.Series | None:
    return merged_counts([getattr(part, f"{side}_labels") for part in parts])


def summarize_parts(parts: list[SplitPart], features: FeatureSpec, labels: pd.Series | None) -> dict[str, Any]:
    """The local stage's summary (`data.prepare.summarize`), from the partitions' figures."""
    train_rows, test_rows = sum(part.train_rows for part in parts), sum(part.test_rows for part in parts)
    rows = train_rows + test_rows
    summary: dict[str, Any] = {
        "rows": rows,
        "train_rows": train_rows,
        "test_rows": test_rows,
        "numeric_features": len(features.numeric),
        "categorical_features": len(features.categorical),
        "missing_fraction": sum(part.missing_cells for part in parts) / (rows * len(features.columns)),
    }
    if features.task == Task.BINARY:
        assert labels is not None
        summary["positive_rate"] = int(labels.get(features.positive_class, 0)) / rows
    elif features.task == Task.MULTICLASS:
        summary["classes"] = len(features.classes or [])
    else:
        total, squares = sum(p.target_sum for p in parts), sum(p.target_squares for p in parts)
        summary["target_mean"] = float(total / rows)
        summary["target_std"] = math.sqrt(float((squares - total * total / rows) / (rows - 1))) if rows > 1 else 0.0
    return summary


def run_prepare(cfg: Params, raw: Path = paths.RAW_DATASET) -> None:
    """Prepare stage on Dask: check every partition, merge, then write the split block by block."""
    if cfg.split.strategy != SplitStrategy.HASH:
        raise PipelineError(
            f"split.strategy {cfg.split.strategy} needs the whole table in one process; on compute.engine dask "
            "the split is by a hash of each row's id: set split.strategy: hash (compute=dask does)"
        )
    if not raw.exists():
        raise PipelineError(f"{raw} not found: run the ingest stage first (`dvc repro ingest`)")
    with open_cluster() as cluster:
        partitions = cluster.partitions_of(raw)
        checks = cluster.map(_check_partition, partitions, raw, cfg, what="check")
        check_table(checks, cfg)
        _refuse_repeats(checks, partitions, raw, cluster)
        decisions = _decide_columns(checks, cfg)
        labels = _merge_labels(checks)
        features = _describe(checks, cfg, decisions, labels)
        del checks
        parts = _write_split(cluster.client, partitions, raw, cfg, decisions, features)
    summary = summarize_parts(parts, features, labels)
    decided = {"columns": decisions, "task": task_decision(features, cfg.data)}
    for column, decision in decisions.items():
        log.info("column %s: %s", column, decision)
    log.info("task: %s", decided["task"])
    log.info("%s train / %s test rows", f"{summary['train_rows']:,}", f"{summary['test_rows']:,}")
    write_json(features.to_dict(), paths.FEATURES_FILE)
    write_json(summary | {"inferred": decided}, paths.DATA_METRICS)


def _describe(
    checks: list[PartitionCheck], cfg: Params, decisions: dict[str, str], labels: pd.Series | None
) -> FeatureSpec:
    """The task and the feature spec, from the merged label counts and the columns' types."""
    types = checks[0].types
    assert types is not None
    dropped = [name for name, decision in decisions.items() if decision == DROPPED_DATETIME]
    target_type = types[cfg.data.target].dtype
    if labels is None:  # more values than classes ever have: stand-ins with as many values
        distinct = pd.Series(np.arange(LABELS_KEPT + 1) + 0.5)
        target = distinct if pd.api.types.is_numeric_dtype(target_type) else distinct.astype(str)
    else:
        target = pd.Series(labels.index, dtype=target_type)
    task = infer_task(target, cfg.data.task)
    return describe_features(types.drop(columns=dropped), cfg.data, task, dropped, labels)


def _write_split(
    client: Any,
    partitions: list[Partition],
    raw: Path,
    cfg: Params,
    decisions: dict[str, str],
    features: FeatureSpec,
) -> list[SplitPart]:
    """Split each partition on the cluster, write train and test block by block; the parts' figures, in order.

    The outputs appear only once both sides passed `check_split`.
    """
    by_block: dict[int, list[Partition]] = {}
    for partition in partitions:
        by_block.setdefault(partition.block, []).append(partition)
    args = (raw, cfg, decisions, features)
    with atomic_dir(paths.TRAIN_SET) as train_dir, atomic_dir(paths.TEST_SET) as test_dir:
        writes, figures = [], []
        for block, members in by_block.items():  # submitted block by block: a block is written before later ones
            parts = client.map(_split_partition, members, *[[arg] * len(members) for arg in args], pure=False)
            for folder, side in ((train_dir, "train"), (test_dir, "test")):
                writes.append(client.submit(_write_side, folder, block, side, *parts, pure=False))
            figures += client.map(_figures, parts, pure=False)
        client.gather(writes)
        gathered = client.gather(figures)
        for side in ("train", "test"):
            rows = sum(getattr(part, f"{side}_rows") for part in gathered)
            check_split_counts(rows, _labels(gathered, side), side, features, cfg.split)
    return gathered
