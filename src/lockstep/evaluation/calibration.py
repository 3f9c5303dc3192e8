"""The reference of the label-free estimate: a calibration table from the test set, and the check that may refuse it.

Fitted once, from the test set's scores and labels (binary: the positive class's score; multiclass: one column
of probabilities per class, labels as column positions). It holds, per class, a map from the model's raw score
to a probability, and the raw scores' expected calibration error over 10 equal-mass bins. NannyML
(nannyml/calibration.py: `IsotonicCalibrator`, `needs_calibration`, `_calculate_expected_calibration_error`)
fits an isotonic map when, out of fold, it lowers that error. Here the map is the best, out of fold, of three:
the scores as they are, a logistic map on their logit (Platt scaling, 2 parameters), or an isotonic map; a map
with many steps fitted on one test set of a few thousand rows would copy that sample's luck into every estimate.

The check: the map may correct a small miscalibration, but when the raw scores are far from probabilities
(an error above `MAX_CALIBRATION_ERROR`, on any class) the estimate would rest on a map learned from one test
set, so the reference refuses, and says why in one line. So does a class with too few rows to learn from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config import Task

# A reference whose raw scores miss the observed rates by more than this (weighted over 10 equal-mass bins) refuses.
MAX_CALIBRATION_ERROR = 0.05
CALIBRATION_BINS = 10
CALIBRATION_FOLDS = 5
# Each class needs this many rows in the test set, as a positive and as a negative, for its map to mean anything.
MIN_CLASS_ROWS = 50
REGRESSION_REASON = (
    "regression: not estimated; a confidence-based estimate needs class probabilities, and a regressor's score "
    "says nothing of its own error (NannyML's DLE would need a second model trained on the errors)"
)


@dataclass(frozen=True)
class ScoreMap:
    """A non-decreasing map from a raw score to a probability, as a table: linear between knots, flat beyond them."""

    method: str  # "identity", "logistic" or "isotonic"
    knots: tuple[float, ...]
    values: tuple[float, ...]

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """The calibrated probability of each score."""
        return np.interp(scores, self.knots, self.values)


def identity_map(scores: np.ndarray, outcomes: np.ndarray) -> ScoreMap:
    """The map that keeps a probability as it is (scores already calibrated)."""
    return ScoreMap("identity", (0.0, 1.0), (0.0, 1.0))


def isotonic_map(scores: np.ndarray, outcomes: np.ndarray) -> ScoreMap:
    """The isotonic regression of the outcomes (0/1) on the scores (NannyML's `IsotonicCalibrator`)."""
    from sklearn.isotonic import IsotonicRegression  # here: the monitor applies maps and never imports scikit-learn

    regression = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, outcomes)
    return ScoreMap(
        "isotonic", tuple(map(float, regression.X_thresholds_)), tuple(map(float, regression.y_thresholds_))
    )


def logistic_map(scores: np.ndarray, outcomes: np.ndarray) -> ScoreMap:
    """A logistic regression on the score's logit (Platt scaling), tabulated on a grid and the scores' quantiles."""
    grid = 1 / (1 + np.exp(-np.linspace(-8, 8, 81)))  # dense where the map bends, whatever the scores
    knots = np.unique(np.r_[0.0, grid, np.quantile(scores, np.linspace(0.01, 0.99, 99)), 1.0])
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=1e6).fit(logit(scores)[:, None], outcomes)
    return ScoreMap(
        "logistic", tuple(map(float, knots)), tuple(map(float, fitted.predict_proba(logit(knots)[:, None])[:, 1]))
    )


def logit(scores: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), with p kept 1e-6 from 0 and 1."""
    clipped = np.clip(scores, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


MAPS = (identity_map, logistic_map, isotonic_map)


def expected_calibration_error(scores: np.ndarray, outcomes: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """The row-weighted mean gap between the mean score and the outcome rate, over equal-mass bins of the scores."""
    order = np.argsort(scores, kind="stable")
    gaps = [
        len(part) * abs(scores[part].mean() - outcomes[part].mean())
        for part in np.array_split(order, min(bins, len(order)))
    ]
    return float(sum(gaps) / len(order))


def best_map(scores: np.ndarray, outcomes: np.ndarray, folds: int = CALIBRATION_FOLDS) -> ScoreMap:
    """The simplest of `MAPS` that no later one beats out of fold, fitted on all rows (NannyML's `needs_calibration`).

    A map replaces the one before it when its Brier score, out of fold, is lower by more than 2 standard errors
    of the rows' paired difference: so scores already calibrated stay as they are. The Brier score, not the
    binned error NannyML compares: a step function's ties can lower a binned error without being better.
    """
    fold = np.random.default_rng(0).permutation(len(scores)) % folds
    chosen, chosen_errors = MAPS[0], (scores - outcomes) ** 2
    for fit in MAPS[1:]:
        calibrated = np.empty(len(scores))
        for k in range(folds):
            held = fold == k
            calibrated[held] = fit(scores[~held], outcomes[~held])(scores[held])
        errors = (calibrated - outcomes) ** 2
        gain = chosen_errors - errors
        if gain.mean() > 2 * gain.std() / np.sqrt(len(gain)):
            chosen, chosen_errors = fit, errors
    return chosen(scores, outcomes)


@dataclass(frozen=True)
class Reference:
    """What the estimate needs from the test set: the calibration maps, the check, and why it refuses (or None)."""

    task: Task
    classes: tuple[str, ...]  # the score columns' classes; binary: (negative, positive)
    maps: tuple[ScoreMap, ...]  # binary: the positive class's only; multiclass: one per class
    calibration_errors: tuple[float, ...]  # the raw scores' error, per map
    rows: int
    threshold: float  # binary: a score at or above it predicts the positive class
    refusal: str | None

    def to_dict(self) -> dict:
        """A JSON-able dict; `from_dict` reads it back to an equal reference."""
        return {
            "task": str(self.task),
            "classes": list(self.classes),
            "maps": [{"method": m.method, "knots": list(m.knots), "values": list(m.values)} for m in self.maps],
            "calibration_errors": list(self.calibration_errors),
            "rows": self.rows,
            "threshold": self.threshold,
            "refusal": self.refusal,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Reference:
        """The reference that `to_dict` wrote."""
        return cls(
            task=Task(data["task"]),
            classes=tuple(data["classes"]),
            maps=tuple(ScoreMap(m["method"], tuple(m["knots"]), tuple(m["values"])) for m in data["maps"]),
            calibration_errors=tuple(data["calibration_errors"]),
            rows=int(data["rows"]),
            threshold=float(data["threshold"]),
            refusal=data["refusal"],
        )

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: binary, the positive class's (n,); multiclass, rows that sum to 1 (n, k)."""
        if self.task == Task.BINARY:
            return self.maps[0](scores)
        probabilities = np.column_stack([m(scores[:, c]) for c, m in enumerate(self.maps)])
        totals = probabilities.sum(axis=1, keepdims=True)
        return np.divide(probabilities, totals, out=np.full_like(probabilities, 1 / len(self.maps)), where=totals > 0)


def one_vs_rest(task: Task, scores: np.ndarray, labels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(score, outcome) per calibrated class: binary, the positive class; multiclass, each column against the rest."""
    if task == Task.BINARY:
        return [(scores, (labels == 1).astype(float))]
    return [(scores[:, c], (labels == c).astype(float)) for c in range(scores.shape[1])]


def check_scores(task: Task, scores: np.ndarray, classes: int | None = None) -> np.ndarray:
    """The scores as floats of the task's shape, or a ValueError that says what is wrong."""
    scores = np.asarray(scores, dtype=float)
    expected = 1 if task != Task.MULTICLASS else 2
    if scores.ndim != expected or (classes is not None and expected == 2 and scores.shape[1] != classes):
        raise ValueError(f"{task} scores must be {'(n,)' if expected == 1 else '(n, classes)'}, not {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("scores hold NaN or infinite values: drop those rows first")
    return scores


def refusal(classes: Sequence[str], labels: np.ndarray, task: Task, errors: Sequence[float]) -> str | None:
    """Why this reference cannot back an estimate, in one line, or None."""
    columns = [classes[1]] if task == Task.BINARY else list(classes)
    outcomes = (labels == 1) if task == Task.BINARY else None
    for index, name in enumerate(columns):
        hits = int(outcomes.sum() if outcomes is not None else (labels == index).sum())
        if min(hits, len(labels) - hits) < MIN_CLASS_ROWS:
            return f"too few rows to calibrate class {name}: {hits} of {len(labels)}, need {MIN_CLASS_ROWS} each way"
    worst = int(np.argmax(errors))
    if errors[worst] > MAX_CALIBRATION_ERROR:
        return (
            f"model poorly calibrated on the test set: expected calibration error {errors[worst]:.3f} "
            f"> {MAX_CALIBRATION_ERROR} (class {columns[worst]}), so its scores cannot stand for probabilities"
        )
    return None


def fit_reference(
    task: Task | str,
    scores: np.ndarray,
    labels: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    threshold: float = 0.5,
) -> Reference:
    """The reference from the test set's scores and labels (binary 0/1; multiclass, the score column's position)."""
    task = Task(task)
    if task == Task.REGRESSION:
        return Reference(task, (), (), (), len(np.asarray(scores)), threshold, REGRESSION_REASON)
    scores = check_scores(task, scores)
    labels = np.asarray(labels).astype(int)
    if len(labels) != len(scores):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels")
    width = 2 if task == Task.BINARY else scores.shape[1]
    names = tuple(str(c) for c in (classes if classes is not None else range(width)))
    if len(names) != width:
        raise ValueError(f"{len(names)} class names for {width} classes")
    pairs = one_vs_rest(task, scores, labels)
    errors = tuple(expected_calibration_error(s, y) for s, y in pairs)
    reason = refusal(names, labels, task, errors)
    maps = tuple(identity_map(s, y) if reason else best_map(s, y) for s, y in pairs)  # a refused one is never used
    return Reference(task, names, maps, errors, len(scores), float(threshold), reason)
