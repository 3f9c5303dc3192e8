"""A window's scores as the label-free estimate keeps them: added a chunk at a time, in memory that does not grow."""

from __future__ import annotations

import numpy as np

from ..config.enums import Task
from ..evaluation.calibration import Reference, check_scores
from .ranking import ranking_metrics

# Above this many rows an interval's draws are of a random sample of this size, and their spread is scaled by
# sqrt(sample / rows) around the whole window's value: an AUC's sampling spread shrinks as 1/sqrt(rows) (it is a
# U-statistic), so the draws keep their meaning and a 1M-row window costs what a 50k-row one does.
INTERVAL_ROWS = 50_000
# Above INTERVAL_ROWS the label-free value is computed on the scores binned to 1/HISTOGRAM_BINS (rows in one bin
# count as tied), so memory does not grow with the window; it moves the value by under 1e-4.
HISTOGRAM_BINS = 65_536
CHUNK_ROWS = 1_000_000  # rows a whole window's scores are added in (`ScoreSketch.of`)


class ScoreSketch:
    """A window's scores as the label-free estimate needs them, added a chunk at a time in flat memory.

    Up to INTERVAL_ROWS rows it keeps every row, in order, and the estimate is exact. Past that it keeps a
    uniform sample of INTERVAL_ROWS rows (those with the smallest of a random key drawn per row, whatever the
    chunks), for the interval; and per class, the rows and expected positives in each of HISTOGRAM_BINS bins of
    the score, with the expected right predictions, for the value (`binned_values`). Rows are only counted when
    the reference cannot estimate (regression, or a refusal).
    """

    def __init__(self, reference: Reference, seed: int = 0) -> None:
        self.reference, self.rows, self.right = reference, 0, 0.0
        self.estimable = reference.task != Task.REGRESSION and reference.refusal is None
        self.classes = len(reference.classes) if reference.task == Task.MULTICLASS else 1
        self.counts = np.zeros((self.classes, HISTOGRAM_BINS)) if self.estimable else np.zeros((0, 0))
        self.expected = np.zeros_like(self.counts)
        self.sample, self.keys = np.zeros((0, self.classes) if self.classes > 1 else 0), np.zeros(0)
        self.rng = np.random.default_rng([seed, 1])  # not the draws' stream

    @classmethod
    def of(cls, reference: Reference, scores: np.ndarray) -> ScoreSketch:
        """The sketch of a whole window's scores, added CHUNK_ROWS at a time."""
        sketch = cls(reference)
        for start in range(0, len(scores), CHUNK_ROWS):
            sketch.add(scores[start : start + CHUNK_ROWS])
        return sketch

    def add(self, scores: np.ndarray) -> None:
        """Add a chunk of scores ((n,) binary, (n, classes) multiclass); a ValueError when they do not fit."""
        self.rows += len(scores)
        if not self.estimable:
            return
        scores = check_scores(self.reference.task, scores, len(self.reference.classes))
        sample, keys = np.concatenate([self.sample, scores]), np.concatenate([self.keys, self.rng.random(len(scores))])
        if len(sample) > INTERVAL_ROWS:
            kept = np.sort(np.argpartition(keys, INTERVAL_ROWS)[:INTERVAL_ROWS])  # sorted: the rows' order stays
            sample, keys = sample[kept], keys[kept]
        self.sample, self.keys = sample, keys
        probabilities = self.reference.calibrate(scores)
        columns, chances = scores.reshape(len(scores), -1), probabilities.reshape(len(scores), -1)
        for c in range(self.classes):
            bins = np.minimum((np.clip(columns[:, c], 0, 1) * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)
            self.counts[c] += np.bincount(bins, minlength=HISTOGRAM_BINS)
            self.expected[c] += np.bincount(bins, weights=chances[:, c], minlength=HISTOGRAM_BINS)
        if self.classes == 1:
            right = np.where(scores >= self.reference.threshold, probabilities, 1 - probabilities)
        else:
            right = probabilities[np.arange(len(scores)), scores.argmax(axis=1)]
        self.right += float(right.sum())

    @property
    def complete(self) -> bool:
        """Whether the sample holds every row (the estimate is then exact)."""
        return self.rows <= INTERVAL_ROWS

    def binned_values(self) -> np.ndarray:
        """The metrics' values (`metric_names` order), with the scores binned.

        The bins, highest first, are ranked as runs of tied scores (so the value moves by under 1e-4); accuracy
        is exact, a sum over rows.
        """
        ranked = []
        for c in range(self.classes):
            rows, positives = self.counts[c][::-1], self.expected[c][::-1]
            kept = rows > 0
            positives, negatives = positives[kept], rows[kept] - positives[kept]
            ranked.append(ranking_metrics(positives[None], negatives[None], np.arange(positives.size))[0])
        accuracy = self.right / self.rows
        if self.classes == 1:
            return np.array([*ranked[0], accuracy])
        return np.array([np.mean([values[0] for values in ranked]), accuracy])
