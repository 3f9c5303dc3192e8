from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from lockstep.contract.model_contract import ModelContract
from lockstep.data.prepare import PreparedData
from lockstep.evaluation.curves import (
    calibration_points,
    confusion_counts,
    precision_recall_points,
    residual_histogram,
    roc_points,
)
from lockstep.evaluation.metrics import METRIC_NAMES, compute_metrics, predict


def test_binary_metrics_on_a_known_case() -> None:
    predictions = pd.DataFrame({"y_true": [0, 0, 1, 1], "score": [0.1, 0.6, 0.4, 0.9], "y_pred": [0, 1, 0, 1]})
    scores = compute_metrics(predictions, "binary", [0, 1])
    assert scores["roc_auc"] == pytest.approx(0.75)
    assert scores["accuracy"] == pytest.approx(0.5)
    assert scores["precision"] == scores["recall"] == pytest.approx(0.5)
    assert scores["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert set(scores) == set(METRIC_NAMES["binary"])


def test_undefined_metric_is_nan_not_an_error() -> None:
    predictions = pd.DataFrame({"y_true": [1, 1], "score": [0.2, 0.9], "y_pred": [0, 1]})
    scores = compute_metrics(predictions, "binary", [0, 1])
    assert np.isnan(scores["roc_auc"])
    assert scores["accuracy"] == pytest.approx(0.5)


def test_regression_metrics_on_a_known_case() -> None:
    predictions = pd.DataFrame({"y_true": [1.0, 2.0, 3.0, 4.0], "y_pred": [1.0, 2.0, 3.0, 6.0]})
    scores = compute_metrics(predictions, "regression")
    assert scores["rmse"] == pytest.approx(1.0)
    assert scores["mae"] == pytest.approx(0.5)
    assert scores["r2"] == pytest.approx(1 - 4 / 5)
    assert set(scores) == set(METRIC_NAMES["regression"])


def test_multiclass_metrics_use_the_probability_columns() -> None:
    predictions = pd.DataFrame(
        {
            "y_true": ["a", "b", "c", "c"],
            "proba_a": [0.8, 0.1, 0.1, 0.2],
            "proba_b": [0.1, 0.8, 0.1, 0.2],
            "proba_c": [0.1, 0.1, 0.8, 0.6],
            "y_pred": ["a", "b", "c", "c"],
        }
    )
    scores = compute_metrics(predictions, "multiclass", ["a", "b", "c"])
    assert scores["accuracy"] == scores["f1_macro"] == scores["roc_auc_ovr"] == pytest.approx(1.0)
    assert set(scores) == set(METRIC_NAMES["multiclass"])


def test_predict_keeps_ids_and_applies_the_contracts_threshold(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract
) -> None:
    strict = predict(trained, prepared.test, replace(contract, decision_threshold=0.9))
    loose = predict(trained, prepared.test, replace(contract, decision_threshold=0.1))
    assert list(strict["id"]) == list(prepared.test["loan_id"])
    assert strict["y_pred"].sum() < loose["y_pred"].sum()
    assert ((loose["score"] >= 0.1) == (loose["y_pred"] == 1)).all()


def test_roc_points_are_resampled_on_a_fixed_grid() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 10_000)
    points = roc_points(truth, truth + rng.normal(0, 1, 10_000), n_points=11)
    assert [p["fpr"] for p in points] == pytest.approx(np.linspace(0, 1, 11))
    tprs = [p["tpr"] for p in points]
    assert tprs == sorted(tprs)
    assert tprs[-1] == 1.0


def test_perfect_scores_give_perfect_curves() -> None:
    truth = np.array([0, 0, 0, 1, 1])
    score = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    assert all(p["precision"] == 1.0 for p in precision_recall_points(truth, score, 5))
    assert all(p["tpr"] == 1.0 for p in roc_points(truth, score, 5)[1:])


def test_precision_falls_as_recall_rises_on_an_imperfect_model() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 5_000)
    points = precision_recall_points(truth, truth + rng.normal(0, 1, 5_000), n_points=11)
    precisions = [p["precision"] for p in points]
    assert precisions == sorted(precisions, reverse=True)
    assert precisions[0] == 1.0
    assert precisions[-1] == pytest.approx(truth.mean(), abs=0.02)  # at full recall: the base rate


def test_calibration_bins_average_what_falls_in_them() -> None:
    rows = calibration_points(np.array([0, 1, 1, 0]), np.array([0.05, 0.15, 0.95, 1.0]), n_bins=10)
    assert rows == [
        {"predicted": 0.05, "observed": 0.0, "rows": 1},
        {"predicted": 0.15, "observed": 1.0, "rows": 1},
        {"predicted": pytest.approx(0.975), "observed": 0.5, "rows": 2},
    ]


def test_confusion_counts_include_empty_cells() -> None:
    rows = confusion_counts(pd.Series(["a", "a", "b"]), pd.Series(["a", "b", "b"]), ["a", "b", "c"])
    counts = {(r["actual"], r["predicted"]): r["count"] for r in rows}
    assert len(counts) == 9
    assert counts[("a", "a")] == counts[("a", "b")] == counts[("b", "b")] == 1
    assert counts[("c", "c")] == 0


def test_residual_histogram_counts_every_row() -> None:
    rows = residual_histogram(np.arange(100.0), np.zeros(100), n_bins=10)
    assert sum(r["rows"] for r in rows) == 100
    assert len(rows) == 10


def test_rank_sum_roc_auc_equals_scikit_learns() -> None:
    from sklearn.metrics import roc_auc_score

    from lockstep.evaluation.metrics import roc_auc

    rng = np.random.default_rng(4)
    for size in (2, 10, 1_000):
        truth = rng.integers(0, 2, size)
        truth[:2] = [0, 1]
        score = np.round(rng.random(size), 1)  # many ties
        assert roc_auc(truth, score) == pytest.approx(roc_auc_score(truth, score), abs=1e-12)
    assert np.isnan(roc_auc(np.ones(5, dtype=int), rng.random(5)))
