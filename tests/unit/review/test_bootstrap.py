from __future__ import annotations

import numpy as np
import pytest

from lockstep.evaluation.metrics import METRICS, Scored
from lockstep.review.bootstrap import paired_bootstrap


def scored(truth: np.ndarray, score: np.ndarray) -> Scored:
    return Scored(truth, (score >= 0.5).astype(int), score, None, [0, 1])


@pytest.fixture
def truth() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 2, 2_000)


def test_identical_models_give_a_zero_interval(truth: np.ndarray) -> None:
    score = np.random.default_rng(1).random(len(truth))
    result = paired_bootstrap(scored(truth, score), scored(truth, score), METRICS["binary"]["roc_auc"], 200, 0.95, 0)
    assert (result.delta, result.low, result.high) == (0.0, 0.0, 0.0)


def test_a_clearly_better_model_has_an_interval_above_zero(truth: np.ndarray) -> None:
    noise = np.random.default_rng(2).normal(0, 1, len(truth))
    weak = scored(truth, 1 / (1 + np.exp(-(truth + 2 * noise))))
    strong = scored(truth, 1 / (1 + np.exp(-(3 * truth + noise))))
    result = paired_bootstrap(weak, strong, METRICS["binary"]["roc_auc"], 300, 0.95, 0)
    assert 0 < result.low < result.delta < result.high
    assert result.resamples == 300


def test_noise_gives_an_interval_that_covers_zero(truth: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    signal = truth + rng.normal(0, 1.5, len(truth))
    first = scored(truth, 1 / (1 + np.exp(-(signal + rng.normal(0, 0.05, len(truth))))))
    second = scored(truth, 1 / (1 + np.exp(-(signal + rng.normal(0, 0.05, len(truth))))))
    result = paired_bootstrap(first, second, METRICS["binary"]["roc_auc"], 300, 0.95, 0)
    assert result.low < 0 < result.high
    assert abs(result.delta) < 0.01


def test_the_interval_is_seeded(truth: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    a, b = scored(truth, rng.random(len(truth))), scored(truth, rng.random(len(truth)))
    metric = METRICS["binary"]["accuracy"]
    assert paired_bootstrap(a, b, metric, 200, 0.9, 7) == paired_bootstrap(a, b, metric, 200, 0.9, 7)


def test_different_test_rows_are_refused(truth: np.ndarray) -> None:
    score = np.random.default_rng(6).random(len(truth))
    with pytest.raises(ValueError, match="not for the same test rows"):
        paired_bootstrap(scored(truth, score), scored(1 - truth, score), METRICS["binary"]["roc_auc"], 100, 0.95, 0)
