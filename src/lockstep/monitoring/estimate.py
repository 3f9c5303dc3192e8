"""Performance without labels: a confidence-based estimate (CBPE) of a window's ROC AUC, accuracy and precision.

What we take from NannyML (github.com/NannyML/nannyml, read, not imported):
- nannyml/performance_estimation/confidence_based/metrics.py, `estimate_roc_auc` and `estimate_ap`: sort the
  window by the model's raw score; each row's calibrated probability counts as an expected true positive, its
  complement as an expected false positive; accumulated over every threshold they give an expected ROC curve and
  an expected precision-recall curve, whose areas are the estimates. Accuracy is the mean probability that the
  predicted class is right. Multiclass: one-vs-rest per class, macro-averaged (its multiclass CBPE).
- nannyml/calibration.py: calibration before estimating, and the expected calibration error (see `calibration.py`,
  which also says where we differ).
- Its docs (docs/how_it_works/performance_estimation.rst) state the assumptions, which hold here too: calibrated
  probabilities, and no concept drift. The estimate follows a covariate shift (the scores' distribution changes,
  P(label | score) does not), and it CANNOT see a concept shift: every result carries `CONCEPT_SHIFT_CAVEAT`.

What we do otherwise: NannyML's band is 3 standard errors fixed from the reference and scaled by the window's
size (nannyml/sampling_error/binary_classification.py). Our interval is a parametric bootstrap on the window
itself: labels drawn from its calibrated probabilities, `draws` times, and the metric's percentiles. It is the
spread of the realized metric on these very scores, had the labels come as calibrated. It leaves out the
calibration map's own error, learned from one test set (`calibration.py` says how that is kept small).
`realized` is the same metrics with labels, its interval a Poisson bootstrap over the window's rows: each id
must count once, and joining outcomes to predictions (one row per id) is the caller's job.

Large windows (over INTERVAL_ROWS rows): both intervals draw from a random sample of INTERVAL_ROWS rows,
their spread scaled to the window's size; the label-free value is computed on the scores binned finely. The
monitor adds a window's scores to a `ScoreSketch` chunk by chunk, so its memory does not grow with the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..config.enums import Task
from ..evaluation.calibration import Reference, check_scores

CONCEPT_SHIFT_CAVEAT = (
    "a label-free estimate assumes the labels follow the scores as on the test set: it cannot see a concept "
    "shift (the label's relation to the features changing); only performance with labels can"
)
DRAWS = 200
CONFIDENCE = 0.95
# Above this many rows an interval's draws are of a random sample of this size, and their spread is scaled by
# sqrt(sample / rows) around the whole window's value: an AUC's sampling spread shrinks as 1/sqrt(rows) (it is a
# U-statistic), so the draws keep their meaning and a 1M-row window costs what a 50k-row one does.
INTERVAL_ROWS = 50_000
# Above INTERVAL_ROWS the label-free value is computed on the scores binned to 1/HISTOGRAM_BINS (rows in one bin
# count as tied), CHUNK_ROWS at a time, so memory does not grow with the window; it moves the value by under 1e-4.
HISTOGRAM_BINS = 65_536
CHUNK_ROWS = 1_000_000
# Rows x draws computed at once: bounds memory for large windows (8 MB of float64 per array, a dozen arrays).
BATCH_CELLS = 1_000_000


@dataclass(frozen=True)
class Interval:
    """A metric's value and its interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Performance:
    """A window's metrics, estimated without labels or realized with them, or why there are none."""

    status: str  # "estimated", "realized", "refused" (the reference says why), "not estimated"
    task: Task
    rows: int
    metrics: dict[str, Interval] = field(default_factory=dict)
    reason: str | None = None
    interval: str = ""
    caveat: str | None = None

    @property
    def blind_to_concept_shift(self) -> bool:
        """True for a label-free estimate (and its refusals): a concept shift would not show in it."""
        return self.caveat is not None

    def to_dict(self) -> dict:
        """A JSON-able dict: one entry per metric with its interval."""
        metrics = {name: vars(interval) for name, interval in sorted(self.metrics.items())}
        return vars(self) | {"task": str(self.task), "metrics": metrics}


def ranking_metrics(positives: np.ndarray, negatives: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """ROC AUC and average precision, (draws, 2), from positive and negative weights (draws, n).

    The rows are sorted by score, highest first, and `cuts` ends each run of equal scores, so ties count as
    scikit-learn counts them. Weights are 0/1 labels, expected counts (calibrated probabilities), or bootstrap counts.
    """
    tps = np.cumsum(positives, axis=1)[:, cuts]
    fps = np.cumsum(negatives, axis=1)[:, cuts]
    total_p, total_n = tps[:, -1:], fps[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = np.hstack([np.zeros_like(total_p), tps / total_p])
        fpr = np.hstack([np.zeros_like(total_n), fps / total_n])
        auc = np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)
        precision = np.where(tps + fps > 0, tps / (tps + fps), 1.0)
        ap = np.sum(np.diff(tpr, axis=1) * precision, axis=1)
    return np.column_stack([auc, ap])


def ranking_order(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows' order by score, highest first, and the last position of each run of equal scores."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    return order, np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]


def binary_metrics(scores: np.ndarray, threshold: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(roc_auc, average_precision, accuracy) per draw, from positive weights and row weights (draws, n)."""
    order, cuts = ranking_order(scores)
    predicted = scores >= threshold

    def metrics(positives: np.ndarray, weights: np.ndarray) -> np.ndarray:
        ranking = ranking_metrics(positives[:, order], (weights - positives)[:, order], cuts)
        right = np.where(predicted, positives, weights - positives)
        return np.column_stack([ranking, right.sum(axis=1) / weights.sum(axis=1)])

    return metrics


def multiclass_metrics(scores: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(roc_auc_ovr, accuracy) per draw, from per-class positive weights (draws, n, k) and row weights (draws, n)."""
    orders = [ranking_order(scores[:, c]) for c in range(scores.shape[1])]
    predicted = scores.argmax(axis=1)

    def metrics(positives: np.ndarray, weights: np.ndarray) -> np.ndarray:
        aucs = [
            ranking_metrics(positives[:, order, c], (weights - positives[:, :, c])[:, order], cuts)[:, 0]
            for c, (order, cuts) in enumerate(orders)
        ]
        right = positives[:, np.arange(len(predicted)), predicted]
        return np.column_stack([np.mean(aucs, axis=0), right.sum(axis=1) / weights.sum(axis=1)])

    return metrics


def metric_names(task: Task) -> tuple[str, ...]:
    """The metrics a task's window gets, in the order `metrics_for` computes them."""
    return ("roc_auc", "average_precision", "accuracy") if task == Task.BINARY else ("roc_auc_ovr", "accuracy")


def summarize(
    task: Task, point: np.ndarray, draws: np.ndarray, confidence: float, center: np.ndarray, scale: float
) -> dict[str, Interval]:
    """Each metric's value with the percentile interval of its draws, moved from `center` to `point` and scaled.

    With all the rows drawn, `center` is `point` and `scale` 1: the plain percentile interval.
    """
    tail = (1 - confidence) / 2 * 100
    low, high = point + (np.nanpercentile(draws, [tail, 100 - tail], axis=0) - center) * scale
    return {name: Interval(float(point[i]), float(low[i]), float(high[i])) for i, name in enumerate(metric_names(task))}


def interval_rows(rows: int, rng: np.random.Generator) -> tuple[np.ndarray | slice, float]:
    """The rows an interval's draws use (all of them, or a sorted random `INTERVAL_ROWS`), and its spread's scale."""
    if rows <= INTERVAL_ROWS:
        return slice(None), 1.0
    return np.sort(rng.choice(rows, INTERVAL_ROWS, replace=False)), float(np.sqrt(INTERVAL_ROWS / rows))


def sampled(rows: int, scale: float) -> str:
    """How an interval's draws were taken, when not of every row."""
    if scale == 1.0:
        return ""
    return f" (of {INTERVAL_ROWS:,} of the {rows:,} rows, their spread scaled by sqrt({INTERVAL_ROWS:,}/{rows:,}))"


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


def batched(metrics: Callable, sample: Callable, cells: int, draws: int) -> np.ndarray:
    """`metrics(*sample(b))` over `draws` draws, in batches that bound memory (`cells` numbers a draw)."""
    size = max(1, BATCH_CELLS // max(cells, 1))
    return np.vstack([metrics(*sample(min(size, draws - start))) for start in range(0, draws, size)])


def label_draws(task: Task, probabilities: np.ndarray, rng: np.random.Generator) -> Callable:
    """A sampler of label draws from calibrated probabilities: (positive weights, row weights) per batch."""
    rows = len(probabilities)
    if task == Task.BINARY:
        return lambda b: ((rng.random((b, len(probabilities))) < probabilities).astype(float), np.ones((b, rows)))
    cumulative = np.cumsum(probabilities, axis=1)
    classes = np.arange(probabilities.shape[1])

    def sample(b: int) -> tuple[np.ndarray, np.ndarray]:
        drawn = (cumulative[None] < rng.random((b, len(probabilities), 1))).sum(axis=2)
        drawn = np.minimum(drawn, classes[-1])  # a row's total may fall a hair under 1
        return (drawn[:, :, None] == classes).astype(float), np.ones((b, rows))

    return sample


def metrics_for(reference: Reference, scores: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The task's metrics on these scores, as a function of (positive weights, row weights)."""
    if reference.task == Task.BINARY:
        return binary_metrics(scores, reference.threshold)
    return multiclass_metrics(scores)


def unavailable(reference: Reference, rows: int, caveat: str | None) -> Performance | None:
    """The result when there is nothing to compute (regression, a refused reference, too few rows), else None."""
    if reference.task == Task.REGRESSION:
        return Performance("not estimated", reference.task, rows, reason=reference.refusal, caveat=caveat)
    if reference.refusal is not None and caveat is not None:
        return Performance("refused", reference.task, rows, reason=reference.refusal, caveat=caveat)
    if rows < 2:
        return Performance("not estimated", reference.task, rows, reason=f"{rows} rows in the window", caveat=caveat)
    return None


def estimate(
    reference: Reference,
    window: np.ndarray | ScoreSketch,
    draws: int = DRAWS,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Performance:
    """The window's metrics estimated from its scores (or their sketch) alone, with a parametric-bootstrap interval."""
    sketch = window if isinstance(window, ScoreSketch) else ScoreSketch.of(reference, np.asarray(window))
    rows = sketch.rows
    if (nothing := unavailable(reference, rows, CONCEPT_SHIFT_CAVEAT)) is not None:
        return nothing
    metrics, drawn = metrics_for(reference, sketch.sample), reference.calibrate(sketch.sample)
    center = metrics(drawn[None], np.ones((1, len(drawn))))[0]
    point = center if sketch.complete else sketch.binned_values()
    scale = 1.0 if sketch.complete else float(np.sqrt(INTERVAL_ROWS / rows))
    spread = batched(metrics, label_draws(reference.task, drawn, np.random.default_rng(seed)), drawn.size, draws)
    how = f"{confidence:.0%} of the metric over {draws} label draws from the calibrated probabilities"
    if not sketch.complete:
        how = f"value from the scores binned to 1/{HISTOGRAM_BINS:,}; " + how
    return Performance(
        "estimated",
        reference.task,
        rows,
        summarize(reference.task, point, spread, confidence, center, scale),
        None,
        how + sampled(rows, scale),
        CONCEPT_SHIFT_CAVEAT,
    )


def realized(
    reference: Reference,
    window_scores: np.ndarray,
    labels: np.ndarray,
    draws: int = DRAWS,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Performance:
    """The window's metrics from its labels, with a Poisson-bootstrap interval over its rows (one row per id)."""
    rows = len(np.asarray(window_scores))
    if (nothing := unavailable(reference, rows, None)) is not None:
        return nothing
    scores = check_scores(reference.task, window_scores, len(reference.classes))
    labels = np.asarray(labels).astype(int)
    if len(labels) != rows:
        raise ValueError(f"{rows} scores but {len(labels)} labels")
    outcomes = (labels == 1).astype(float) if reference.task == Task.BINARY else np.eye(scores.shape[1])[labels]
    point = metrics_for(reference, scores)(outcomes[None], np.ones((1, rows)))[0]
    rng = np.random.default_rng(seed)
    subset, scale = interval_rows(rows, rng)
    metrics, drawn = metrics_for(reference, scores[subset]), outcomes[subset]
    center = metrics(drawn[None], np.ones((1, len(drawn))))[0]

    def sample(b: int) -> tuple[np.ndarray, np.ndarray]:
        weights = rng.poisson(1.0, (b, len(drawn))).astype(float)
        return drawn[None] * (weights if drawn.ndim == 1 else weights[:, :, None]), weights

    spread = batched(metrics, sample, scores[subset].size, draws)
    how = f"{confidence:.0%} of the metric over {draws} Poisson bootstrap draws of the window's rows"
    interval = summarize(reference.task, point, spread, confidence, center, scale)
    return Performance("realized", reference.task, rows, interval, None, how + sampled(rows, scale))
