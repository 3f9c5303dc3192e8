"""The prediction and feedback logs cut into windows, per arm and model version, read record by record.

A window is a span of time (aligned to multiples of its length since the epoch, UTC) or a run of rows of one
arm and version. Each window's feature, score and predicted-label counts are accumulated chunk by chunk
(`window.py`), and its scores are added to the label-free estimate's sketch (`estimate.ScoreSketch`): so
memory holds only a chunk, the counts, the sketch, and the id, time and scores of the rows whose id has an
outcome (the feedback log is read first). Requests the contract refused are counted, by the rules they broke.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from ..config import Task
from ..contract.outputs import LABEL, SCORE, proba_column
from ..contract.prediction_log import PredictionRecord, read_feedback, read_predictions
from ..errors import PipelineError
from ..evaluation.profile import label_text
from ..evaluation.reference import MonitoringReference
from .sketch import ScoreSketch
from .window import (
    CategoricalCounts,
    NumericCounts,
    WindowCounts,
    count_categorical,
    count_numeric,
    count_window,
    profiled_columns,
)

CHUNK_ROWS = 10_000


@dataclass
class Slot:
    """One window of one arm and version, as it is read."""

    window: int
    arm: str
    version: str
    start: float
    end: float
    requests: int = 0
    failed: int = 0
    refused: int = 0
    refused_rules: dict[str, int] = field(default_factory=dict)  # requests per rule broken
    counts: WindowCounts | None = None
    labels: CategoricalCounts | None = None  # predicted labels, when the profile follows them
    score_counts: NumericCounts | None = None  # the score the profile follows (prediction drift)
    rows: int = 0  # scored rows
    sketch: ScoreSketch | None = None  # the scores, as the label-free estimate keeps them
    labelled: list[tuple[str, float, Any]] = field(default_factory=list)  # (id, time, scores) of ids with an outcome
    pending: list[dict[str, Any]] = field(default_factory=list)
    pending_labels: list[Any] = field(default_factory=list)
    pending_scores: list[np.ndarray] = field(default_factory=list)


def flush(slot: Slot, reference: MonitoringReference) -> None:
    """Count the slot's pending inputs, scores and predicted labels, and add the scores to its sketch."""
    if slot.pending_scores:
        chunk = np.concatenate(slot.pending_scores)
        slot.pending_scores = []
        if slot.sketch is not None:
            slot.sketch.add(chunk)
        if reference.profile.score is not None:  # binary: the score; multiclass: the top probability
            counts = count_numeric(reference.profile.score, chunk.max(axis=1) if chunk.ndim == 2 else chunk)
            slot.score_counts = counts if slot.score_counts is None else slot.score_counts + counts
    if slot.pending:
        counts = count_window(reference.profile, profiled_columns(reference.profile, slot.pending))
        slot.counts = counts if slot.counts is None else slot.counts + counts
        slot.pending = []
    label = reference.profile.label
    if label is not None and (slot.pending_labels or slot.labels is None):
        codes, values = pd.factorize(pd.Series(slot.pending_labels, dtype=object))  # the few classes, once each
        texts = np.array([*map(label_text, values), None], dtype=object)[codes]  # code -1 (missing): None
        counts = count_categorical(label, texts)
        slot.labels = counts if slot.labels is None else slot.labels + counts
        slot.pending_labels = []


def record_scores(record: PredictionRecord, reference: MonitoringReference) -> np.ndarray:
    """A record's scores in the shape the estimate takes: (rows,) binary and regression, (rows, classes) multiclass."""
    estimate, outputs = reference.estimate, record.outputs
    if estimate.task == Task.BINARY:
        return np.asarray(outputs.get(SCORE, []), dtype=float)
    if estimate.task == Task.MULTICLASS:
        columns = [outputs.get(proba_column(name), []) for name in estimate.classes]
        return np.asarray(columns, dtype=float).T.reshape(len(record.ids), len(columns))
    return np.asarray(outputs.get(LABEL, []), dtype=float)


class Windows:
    """Cuts records into slots: by time (`seconds`) or by rows (`rows`) of each arm and version."""

    def __init__(
        self, reference: MonitoringReference, seconds: int | None, rows: int | None, outcomes: dict[str, Any]
    ) -> None:
        self.reference, self.seconds, self.rows, self.outcomes = reference, seconds, rows, outcomes
        self.slots: dict[tuple[int, str, str], Slot] = {}
        self.seen: dict[tuple[str, str], int] = {}  # rows so far per arm and version (windows of rows)

    def slot(self, record: PredictionRecord) -> Slot:
        """The slot `record` falls in."""
        series = (record.arm, record.model_version)
        if self.seconds is not None:
            index = math.floor(record.time / self.seconds)
            start, end = index * self.seconds, (index + 1) * self.seconds
        else:
            index, start, end = self.seen.get(series, 0) // (self.rows or 1), record.time, record.time
        key = (index, *series)
        if key not in self.slots:
            sketch = ScoreSketch(self.reference.estimate)
            self.slots[key] = Slot(index, record.arm, record.model_version, start, end, sketch=sketch)
        return self.slots[key]

    def add(self, record: PredictionRecord) -> None:
        """Count one record into its window."""
        slot = self.slot(record)
        slot.requests += 1
        if record.refused is not None:
            slot.refused += 1
            for rule in record.refused:
                slot.refused_rules[rule] = slot.refused_rules.get(rule, 0) + 1
            return
        if record.error is not None or not record.ids:
            slot.failed += record.error is not None
            return
        if self.seconds is None:
            series = (record.arm, record.model_version)
            slot.end = max(slot.end, record.time)
            self.seen[series] = self.seen.get(series, 0) + len(record.ids)
        slot.pending += record.inputs if len(record.inputs) == len(record.ids) else [{}] * len(record.ids)
        if self.reference.profile.label is not None:
            slot.pending_labels += record.outputs.get(LABEL, [None] * len(record.ids))
        scores = record_scores(record, self.reference)
        slot.pending_scores.append(scores)
        if self.outcomes:
            for offset, row_id in enumerate(map(str, record.ids)):
                if row_id in self.outcomes:
                    slot.labelled.append((row_id, record.time, scores[offset]))
        slot.rows += len(record.ids)
        if len(slot.pending) >= CHUNK_ROWS:
            flush(slot, self.reference)

    def done(self) -> list[Slot]:
        """Every slot, counted, by window, arm and version."""
        for slot in self.slots.values():
            flush(slot, self.reference)
            if slot.counts is None:  # only failed requests: empty counts
                slot.counts = count_window(self.reference.profile, profiled_columns(self.reference.profile, []))
        return [self.slots[key] for key in sorted(self.slots)]


def read_windows(
    source: Path | str,
    reference: MonitoringReference,
    seconds: int | None,
    rows: int | None,
    since: float | None = None,
    version: str | None = None,
) -> tuple[list[Slot], dict[str, Any]]:
    """The windows of the logs in `source` (a folder or s3:// prefix), and each id's latest outcome.

    `version`: only that model version's records (the reference is its own).
    """
    if not str(source).startswith("s3://") and not Path(source).is_dir():
        raise PipelineError(f"--logs {source}: no such folder; pull the prediction logs first")
    try:
        # A later label for an id wins; a null outcome is no outcome.
        outcomes = {str(f.id): f.outcome for f in read_feedback(source, start=since) if f.outcome is not None}
        windows = Windows(reference, seconds, rows, outcomes)
        for record in read_predictions(source, start=since, refusals=True):
            if version is None or record.model_version == version:
                windows.add(record)
    except msgspec.DecodeError as exc:
        raise PipelineError(f"--logs {source}: a log line does not match the log schema: {exc}") from None
    except OSError as exc:
        raise PipelineError(f"--logs {source}: {exc}") from None
    except ValueError as exc:  # outputs that do not fit the reference's task
        raise PipelineError(f"--logs {source}: the logged outputs do not fit the reference: {exc}") from None
    slots = windows.done()
    if not slots:
        which = "" if version is None else f" of version {version}"
        window = "" if since is None else " since the given time"
        raise PipelineError(f"--logs {source}: no prediction records{which}{window} to monitor")
    return slots, outcomes
