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
from .ranking import metric_names, metrics_for
from .sketch import HISTOGRAM_BINS, INTERVAL_ROWS, ScoreSketch

CONCEPT_SHIFT_CAVEAT = (
    "a label-free estimate assumes the labels follow the scores as on the test set: it cannot see a concept "
    "shift (the label's relation to the features changing); only performance with labels can"
)
DRAWS = 200
CONFIDENCE = 0.95
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
