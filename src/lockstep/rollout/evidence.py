"""The rollout's evidence: the prediction and feedback logs as tables, one per request and one per scored row.

The logs are read from a folder or an S3 prefix (`contract/prediction_log.py`),
from a given time on if asked.

Each arm keeps only the records of its latest version (the one the last record
names), so the logs of an earlier candidate, rolled back, do not count for the
next one. Labels and outcomes are compared as text for classification (a JSON
`1` and `"1"` are one class), as numbers for regression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from ..config import Task
from ..contract.outputs import PROBA_PREFIX
from ..contract.prediction_log import PredictionRecord, read_feedback, read_predictions
from ..errors import PipelineError


@dataclass(frozen=True)
class Evidence:
    """What the arms did, as tables, and the task their outputs show."""

    requests: pd.DataFrame  # request_id, arm, version, sha256, served, latency_ms, failed
    # request_id, time, arm, served, id, inputs (the logged record), label, score (or proba_<class>), outcome,
    # has_outcome: one per scored row, a user who asked twice has two
    rows: pd.DataFrame
    task: str  # binary, multiclass or regression
    classes: list[str]  # classification: the positive class last (binary)
    dropped: dict[str, int]  # arm -> records of earlier versions left out


def task_of(outputs: dict[str, list[Any]]) -> str:
    """The task a record's outputs show: `score` is binary, `proba_<class>` multiclass, `label` alone regression."""
    if "score" in outputs:
        return Task.BINARY
    return Task.MULTICLASS if any(name.startswith(PROBA_PREFIX) for name in outputs) else Task.REGRESSION


def _read(source: Path | str, since: float | None) -> tuple[list[PredictionRecord], dict[str, Any]]:
    if not str(source).startswith("s3://") and not Path(source).is_dir():
        raise PipelineError(f"--logs {source}: no such folder; pull the prediction logs first")
    try:
        records = list(read_predictions(source, start=since))
        # A later label for an id wins; a null outcome is no outcome. A label comes after its prediction.
        outcomes = {str(f.id): f.outcome for f in read_feedback(source, start=since) if f.outcome is not None}
    except msgspec.DecodeError as exc:
        raise PipelineError(f"--logs {source}: a log line does not match the log schema: {exc}") from None
    except OSError as exc:  # an S3 prefix that cannot be listed or read (credentials, endpoint, bucket)
        raise PipelineError(f"--logs {source}: {exc}") from None
    if not records:
        window = "" if since is None else " since the given time"
        raise PipelineError(f"--logs {source}: no prediction records{window} to report on")
    return records, outcomes


def _latest_versions(records: list[PredictionRecord]) -> tuple[list[PredictionRecord], dict[str, int]]:
    latest: dict[str, tuple[float, str]] = {}
    for record in records:
        if record.arm not in latest or record.time >= latest[record.arm][0]:
            latest[record.arm] = (record.time, record.model_version)
    kept = [r for r in records if r.model_version == latest[r.arm][1]]
    dropped: dict[str, int] = {}
    for record in records:
        if record.model_version != latest[record.arm][1]:
            dropped[record.arm] = dropped.get(record.arm, 0) + 1
    return kept, dropped


def _row_table(records: list[PredictionRecord], task: str, outcomes: dict[str, Any]) -> pd.DataFrame:
    columns: dict[str, list[Any]] = {
        name: [] for name in ("request_id", "time", "arm", "served", "id", "inputs", "label")
    }
    score_names = sorted({name for r in records if r.error is None for name in r.outputs if name != "label"})
    for name in score_names:
        columns[name] = []
    for record in records:
        if record.error is not None or not record.ids:
            continue
        n = len(record.ids)
        columns["request_id"] += [record.request_id] * n
        columns["time"] += [record.time] * n
        columns["arm"] += [record.arm] * n
        columns["served"] += [record.served] * n
        columns["id"] += [str(i) for i in record.ids]
        columns["inputs"] += list(record.inputs) if len(record.inputs) == n else [{}] * n
        columns["label"] += list(record.outputs.get("label") or [None] * n)
        for name in score_names:
            columns[name] += list(record.outputs.get(name) or [math.nan] * n)
    rows = pd.DataFrame(columns)
    # An object column: mapping to ints with gaps would make floats of them (1 -> 1.0, no longer the label "1").
    rows["outcome"] = pd.Series([outcomes.get(i) for i in rows["id"]], index=rows.index, dtype=object)
    rows["has_outcome"] = [o is not None for o in rows["outcome"]]
    if task == Task.REGRESSION:
        rows["label"] = pd.to_numeric(rows["label"], errors="coerce")
        rows["outcome"] = pd.to_numeric(rows["outcome"], errors="coerce")
    else:
        rows["label"] = rows["label"].astype(str)
        rows["outcome"] = pd.Series(
            [None if o is None else str(o) for o in rows["outcome"]], index=rows.index, dtype=object
        )
    return rows


def _classes(rows: pd.DataFrame, task: str, positive: Any) -> list[str]:
    if task == Task.REGRESSION:
        return []
    if task == Task.MULTICLASS:
        return sorted(c.removeprefix(PROBA_PREFIX) for c in rows.columns if c.startswith(PROBA_PREFIX))
    seen = sorted(set(rows["label"]) | {o for o in rows["outcome"] if o is not None})
    if positive is None:  # the class the highest score stands for: a binary score is the positive class's
        positive = rows.loc[rows["score"].idxmax(), "label"] if rows["score"].notna().any() else seen[-1]
    positive = str(positive)
    return [c for c in seen if c != positive] + [positive]


def load_evidence(source: Path | str, positive_class: Any = None, since: float | None = None) -> Evidence:
    """Read the logs in `source` (a folder or `s3://bucket/prefix`), from `since` on, into tables.

    `positive_class` (params.yaml's) names a binary task's positive.
    """
    records, outcomes = _read(source, since)
    records, dropped = _latest_versions(records)
    scored = [r for r in records if r.error is None and r.outputs]
    if not scored:
        raise PipelineError(f"--logs {source}: every request in the logs failed; no arm has a prediction to judge")
    task = task_of(scored[-1].outputs)
    requests = pd.DataFrame(
        {
            "request_id": [r.request_id for r in records],
            "arm": [r.arm for r in records],
            "version": [r.model_version for r in records],
            "sha256": [r.model_sha256 for r in records],
            "served": [r.served for r in records],
            "latency_ms": np.array([r.latency_ms for r in records], dtype=float),
            "failed": [r.error is not None for r in records],
        }
    )
    rows = _row_table(scored, task, outcomes)
    return Evidence(requests, rows, task, _classes(rows, task, positive_class), dropped)
