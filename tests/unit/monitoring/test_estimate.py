"""The label-free estimate follows realized performance on calibrated scores, refuses a miscalibrated model, and
says that it cannot see a concept shift."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

from lockstep.evaluation.calibration import Reference, fit_reference
from lockstep.monitoring.estimate import CONCEPT_SHIFT_CAVEAT, estimate, realized

WINDOW = 5_000


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def traffic(rows: int, seed: int, shift: float = 0.0, concept: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated scores (base rate about 10%, ROC AUC about 0.77) and their labels.

    `shift` moves the scores' distribution and keeps their calibration (a covariate shift); `concept` draws the
    labels from another relation to the scores (a concept shift).
    """
    rng = np.random.default_rng(seed)
    logit = rng.normal(-2.6 + shift, 1.2, rows)
    truth = sigmoid(0.3 * logit - 1.5) if concept else sigmoid(logit)
    return sigmoid(logit), (rng.random(rows) < truth).astype(int)


@pytest.fixture(scope="module")
def reference() -> Reference:
    return fit_reference("binary", *traffic(10_000, seed=0))


def gap(reference: Reference, scores: np.ndarray, labels: np.ndarray) -> tuple[float, float, bool]:
    """Estimated minus realized ROC AUC, the realized value, and whether the estimate's interval holds it."""
    estimated = estimate(reference, scores).metrics["roc_auc"]
    truth = realized(reference, scores, labels).metrics["roc_auc"].value
    return estimated.value - truth, truth, estimated.low <= truth <= estimated.high


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_estimate_follows_realized_roc_auc_on_calibrated_scores(reference: Reference, seed: int) -> None:
    scores, labels = traffic(WINDOW, seed)
    difference, _, covered = gap(reference, scores, labels)
    assert abs(difference) < 0.03
    assert covered
    estimated = estimate(reference, scores).metrics
    assert abs(estimated["accuracy"].value - accuracy_score(labels, scores >= 0.5)) < 0.02
    assert abs(estimated["average_precision"].value - average_precision_score(labels, scores)) < 0.06


def test_a_covariate_shift_is_still_estimated_well(reference: Reference) -> None:
    scores, labels = traffic(WINDOW, seed=4, shift=1.0)
    assert np.mean(scores) > 1.5 * np.mean(traffic(WINDOW, seed=4)[0])
    difference, _, covered = gap(reference, scores, labels)
    assert abs(difference) < 0.03
    assert covered


def test_a_concept_shift_fools_the_estimate_and_the_result_says_it_cannot_see_one(reference: Reference) -> None:
    scores, labels = traffic(WINDOW, seed=5, concept=True)
    difference, truth, covered = gap(reference, scores, labels)
    assert truth < 0.68
    assert difference > 0.05
    assert not covered
    result = estimate(reference, scores)
    assert result.caveat == CONCEPT_SHIFT_CAVEAT
    assert result.blind_to_concept_shift
    assert "concept shift" in result.to_dict()["caveat"]
    assert not realized(reference, scores, labels).blind_to_concept_shift


def test_a_poorly_calibrated_reference_is_refused_with_its_reason() -> None:
    scores, labels = traffic(10_000, seed=6)
    refused = fit_reference("binary", np.sqrt(scores), labels)  # every score too high, the ranking kept
    result = estimate(refused, np.sqrt(traffic(WINDOW, seed=7)[0]))
    assert result.status == "refused"
    assert not result.metrics
    assert result.caveat == CONCEPT_SHIFT_CAVEAT
    assert result.reason.startswith("model poorly calibrated on the test set: expected calibration error 0.")
    assert "\n" not in result.reason
    assert realized(refused, *traffic(WINDOW, seed=7)).status == "realized"  # labels need no calibration


def test_a_reference_with_too_few_positives_is_refused() -> None:
    scores, labels = traffic(300, seed=8)
    assert fit_reference("binary", scores, labels).refusal.startswith("too few rows to calibrate class 1")


def test_the_reference_round_trips_through_json(reference: Reference) -> None:
    text = json.dumps(reference.to_dict(), sort_keys=True)
    again = Reference.from_dict(json.loads(text))
    assert again == reference
    assert json.dumps(again.to_dict(), sort_keys=True) == text
    scores = traffic(1_000, seed=9)[0]
    assert estimate(again, scores) == estimate(reference, scores)  # and the same seed gives the same interval


def test_realized_metrics_are_scikit_learns_with_ties(reference: Reference) -> None:
    scores, labels = traffic(2_000, seed=10)
    scores = np.round(scores, 2)  # many ties
    metrics = realized(reference, scores, labels).metrics
    assert metrics["roc_auc"].value == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert metrics["average_precision"].value == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
    assert metrics["accuracy"].value == pytest.approx(accuracy_score(labels, scores >= 0.5), abs=1e-12)
    assert metrics["roc_auc"].low < metrics["roc_auc"].value < metrics["roc_auc"].high


def multiclass_traffic(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated probabilities of 3 classes and labels drawn from them."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (rows, 3)) + np.array([0.5, 0, -0.5])
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, (rng.random((rows, 1)) > probabilities.cumsum(axis=1)).sum(axis=1)


def test_multiclass_accuracy_and_one_vs_rest_roc_auc_are_estimated() -> None:
    reference = fit_reference("multiclass", *multiclass_traffic(4_000, seed=11), classes=["a", "b", "c"])
    assert reference.refusal is None
    scores, labels = multiclass_traffic(3_000, seed=12)
    estimated, truth = estimate(reference, scores).metrics, realized(reference, scores, labels).metrics
    assert truth["roc_auc_ovr"].value == pytest.approx(roc_auc_score(labels, scores, multi_class="ovr"), abs=1e-12)
    assert truth["accuracy"].value == pytest.approx(accuracy_score(labels, scores.argmax(axis=1)), abs=1e-12)
    for name in ("roc_auc_ovr", "accuracy"):
        assert abs(estimated[name].value - truth[name].value) < 0.03
        assert estimated[name].low <= truth[name].value <= estimated[name].high


def test_regression_is_not_estimated_and_says_why() -> None:
    result = estimate(fit_reference("regression", np.zeros(10)), np.zeros(10))
    assert result.status == "not estimated"
    assert not result.metrics
    assert result.reason.startswith("regression: not estimated; a confidence-based estimate needs class probabilities")


def test_calibrated_scores_are_kept_and_a_mild_miscalibration_is_mapped(reference: Reference) -> None:
    grid = np.linspace(0.01, 0.6, 60)
    assert np.abs(reference.maps[0](grid) - grid).max() < 0.02  # already probabilities: the map changes little
    scores, labels = traffic(6_000, seed=13)
    mapped = fit_reference("binary", scores**1.2, labels)  # every score a little too low
    assert mapped.refusal is None
    assert len(mapped.maps[0].knots) > 2
    window, window_labels = traffic(WINDOW, seed=14)
    difference, _, covered = gap(mapped, window**1.2, window_labels)
    assert abs(difference) < 0.03
    assert covered
    assert estimate(mapped, window**1.2).metrics["accuracy"].value == pytest.approx(
        accuracy_score(window_labels, window**1.2 >= 0.5), abs=0.02
    )


@pytest.mark.parametrize("method", ["estimate", "realized"])
def test_a_large_window_s_interval_from_a_sample_matches_the_full_bootstrap(
    reference: Reference, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above INTERVAL_ROWS the draws are of a sample, their spread scaled by sqrt(sample / rows)."""
    from lockstep.monitoring import estimate as module
    from lockstep.monitoring import sketch

    scores, labels = traffic(200_000, seed=9)
    run = (
        (lambda: estimate(reference, scores, draws=100))
        if method == "estimate"
        else (lambda: realized(reference, scores, labels, draws=100))
    )
    for patched in (module, sketch):  # the sample's size, and the interval's scale
        monkeypatch.setattr(patched, "INTERVAL_ROWS", 20_000)
    sampled = run()
    for patched in (module, sketch):
        monkeypatch.setattr(patched, "INTERVAL_ROWS", 10**9)
    full = run()
    assert "of 20,000 of the 200,000 rows" in sampled.interval
    assert "rows," not in full.interval
    for name, interval in full.metrics.items():
        # The value is the whole window's: realized exactly; estimated on scores binned to 1/65,536.
        assert abs(sampled.metrics[name].value - interval.value) < (1e-4 if method == "estimate" else 1e-15)
        width, full_width = sampled.metrics[name].high - sampled.metrics[name].low, interval.high - interval.low
        assert 0.75 < width / full_width < 1.33, (name, width, full_width)  # 100 draws: each width is noisy


def test_a_large_window_s_binned_value_is_the_exact_one_within_1e_4() -> None:
    """The sketch's binned value (flat memory) against the exact estimate over every row, binary and multiclass."""
    from lockstep.monitoring.ranking import metrics_for
    from lockstep.monitoring.sketch import ScoreSketch

    rng = np.random.default_rng(11)
    logits = rng.normal(0, 1.5, (300_000, 3))
    multiclass = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(3, p=row) for row in multiclass[:20_000]])
    binary_scores, binary_labels = traffic(300_000, seed=12)
    for reference, scores in [
        (fit_reference("binary", binary_scores[:20_000], binary_labels[:20_000]), binary_scores),
        (fit_reference("multiclass", multiclass[:20_000], labels, classes=["a", "b", "c"]), multiclass),
    ]:
        probabilities = reference.calibrate(scores)
        exact = metrics_for(reference, scores)(probabilities[None], np.ones((1, len(scores))))[0]
        binned = ScoreSketch.of(reference, scores).binned_values()
        assert np.abs(binned[:-1] - exact[:-1]).max() < 1e-4, (binned, exact)  # the rankings
        assert binned[-1] == pytest.approx(exact[-1], abs=1e-12)  # accuracy: a sum over rows, not binned


def test_a_sketch_is_the_same_however_its_window_is_cut_into_chunks(reference: Reference) -> None:
    from lockstep.monitoring.sketch import ScoreSketch

    scores = traffic(120_000, seed=13)[0]
    whole, chunked = ScoreSketch(reference), ScoreSketch(reference)
    whole.add(scores)
    for start in range(0, len(scores), 7_000):
        chunked.add(scores[start : start + 7_000])
    assert np.array_equal(whole.sample, chunked.sample)  # the same uniform sample of 50,000 rows, in order
    assert (len(whole.sample), whole.rows) == (50_000, 120_000)
    assert np.array_equal(whole.counts, chunked.counts)
    assert estimate(reference, whole).metrics == estimate(reference, chunked).metrics
