"""The gate's policy around the numbers: whose metric, whose thresholds, which values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lockstep.errors import PipelineError
from lockstep.evaluation.metrics import roc_auc
from lockstep.review.committed import NOT_REPRODUCED, hold_to_commit, not_reproduced
from lockstep.review.compare import Side, compare_sides, ignored_gate_changes

from tests.shared import shipped_params

TRUTH = np.random.default_rng(0).integers(0, 2, 400)


def predictions(strength: float, seed: int) -> pd.DataFrame:
    score = 1 / (1 + np.exp(-(strength * TRUTH + np.random.default_rng(seed).normal(0, 1, len(TRUTH)))))
    return pd.DataFrame(
        {"id": np.arange(len(TRUTH)), "y_true": TRUTH, "score": score, "y_pred": (score >= 0.5).astype(int)}
    )


def side(label: str, strength: float, seed: int, gate: dict | None = None, params_seed: int = 1) -> Side:
    frame = predictions(strength, seed)
    metrics = {
        "roc_auc": roc_auc(TRUTH, frame["score"].to_numpy()),
        "accuracy": float((frame["y_pred"] == TRUTH).mean()),
    }
    card = {"task": "binary", "metrics": {}, "classes": [0, 1]}
    # The gate's other keys as the project ships them (a real params.yaml holds every key).
    shipped = shipped_params().gate.model_dump(mode="json") | {"metric": "auto"}  # a baked project may set another
    params = {"seed": params_seed, "gate": shipped | (gate or {"threshold": 0.6, "max_regression": 0.01})}
    return Side(label, metrics, None, params, None, card, {}, frame)


def test_a_clearly_worse_model_is_blocked_by_the_bootstrap() -> None:
    result = compare_sides(side("main", 3.0, 1), side("pr", 1.2, 2))
    assert not result.verdict.passed
    assert result.verdict.interval is not None
    assert result.verdict.interval.high < 0


def test_the_pr_cannot_choose_the_metric_it_is_judged_on() -> None:
    lenient = {"metric": "accuracy", "threshold": 0.6, "max_regression": 0.01}
    result = compare_sides(side("main", 3.0, 1), side("pr", 1.2, 2, gate=lenient))
    assert result.verdict.metric == "roc_auc"
    assert not result.verdict.passed
    assert ignored_gate_changes(result.base, result.new) == [("gate.metric", "auto", "accuracy")]


def test_the_base_s_gate_metric_is_the_one_judged() -> None:
    on_accuracy = {"metric": "accuracy", "threshold": 0.6, "max_regression": 0.01}
    result = compare_sides(side("main", 3.0, 1, gate=on_accuracy), side("pr", 3.0, 2, gate=on_accuracy))
    assert result.verdict.metric == "accuracy"
    assert result.verdict.new_value == pytest.approx(result.new.metrics["accuracy"])


def test_a_gate_metric_that_does_not_fit_the_task_fails_closed() -> None:
    on_r2 = {"metric": "r2", "threshold": 0.6, "max_regression": 0.01}
    result = compare_sides(side("main", 3.0, 1, gate=on_r2), side("pr", 3.0, 2))
    assert not result.verdict.passed
    assert "gate.metric 'r2' is not a binary metric; use one of accuracy" in result.verdict.reasons[0]


def test_the_pr_cannot_loosen_the_thresholds() -> None:
    lenient = {"threshold": 0.0, "max_regression": 1.0}
    result = compare_sides(side("main", 3.0, 1), side("pr", 1.2, 2, gate=lenient))
    assert not result.verdict.passed


def test_a_broken_base_gate_fails_closed() -> None:
    base = side("main", 3.0, 1, gate={"threshold": "high"})
    with pytest.raises(PipelineError, match="base branch's gate settings do not parse"):
        compare_sides(base, side("pr", 3.0, 2))


def test_edited_metrics_are_caught_by_the_predictions() -> None:
    new = side("pr", 1.2, 2)
    new.metrics["roc_auc"] = 0.99
    result = compare_sides(side("main", 3.0, 1), new)
    assert not result.verdict.passed
    assert "metrics.json says roc_auc = 0.99 but the predictions give" in result.verdict.reasons[0]


def test_a_changed_task_fails_closed() -> None:
    new = side("pr", 3.0, 2)
    new.card["task"] = "regression"
    result = compare_sides(side("main", 3.0, 1), new)
    assert not result.verdict.passed
    assert "the task changed from binary to regression" in result.verdict.reasons[0]


def test_a_base_without_a_model_uses_the_threshold_and_this_revision_s_metric() -> None:
    base = Side("main", None, None, None, None, None, {}, None)
    result = compare_sides(base, side("pr", 3.0, 2))
    assert result.verdict.passed
    assert result.verdict.base_value is None


def test_the_bootstrap_seed_is_the_base_s() -> None:
    base = side("main", 3.0, 1, params_seed=7)
    intervals = {compare_sides(base, side("pr", 2.9, 2, params_seed=s)).verdict.interval for s in (1, 99)}
    assert len(intervals) == 1  # this revision's seed does not pick the resampling


def test_a_missing_card_is_named_as_missing_not_as_a_task_change() -> None:
    new = side("pr", 3.0, 2)
    new = Side(new.label, new.metrics, None, new.params, None, None, {}, None)
    result = compare_sides(side("main", 3.0, 1), new)
    assert not result.verdict.passed
    assert result.verdict.reasons == [
        "this revision has no readable model card (models/model_card.json): the gate fails closed"
    ]


def test_a_commit_that_does_not_hold_the_reproduced_results_fails_with_the_command() -> None:
    passing = compare_sides(side("main", 3.0, 1), side("pr", 3.0, 1))
    assert passing.verdict.passed
    assert hold_to_commit(passing, [], None) is passing
    stale = hold_to_commit(passing, ["dvc.lock", "metrics/metrics.json"], {"roc_auc": 0.5})
    assert not stale.verdict.passed
    assert stale.verdict.reasons[0].startswith(
        "this commit's dvc.lock and outputs are not what its code, params and data produce "
        "(after reproducing, dvc.lock, metrics/metrics.json differ): run `make repro`, then commit dvc.lock and metrics/"
    )
    assert stale.verdict.reasons[1:] == passing.verdict.reasons  # a stale lock explains the metrics: no forgery line


def test_forged_committed_metrics_are_named_with_both_values() -> None:
    reproduced = compare_sides(side("main", 3.0, 1), side("pr", 3.0, 2))
    forged = hold_to_commit(reproduced, ["metrics/metrics.json"], {"roc_auc": 0.99})
    value = reproduced.new.metrics["roc_auc"]
    assert forged.verdict.reasons[0] == (
        f"the committed metrics/metrics.json says roc_auc = 0.99, but reproducing this commit gives {value}"
    )
    assert not forged.verdict.passed


def test_a_revision_that_did_not_reproduce_shows_only_the_base_and_fails() -> None:
    result = not_reproduced(side("main", 3.0, 1))
    assert not result.verdict.passed
    assert result.verdict.reasons == [NOT_REPRODUCED]
    assert result.verdict.metric == "roc_auc"
    assert result.new.metrics is None
    assert result.new.model_md5 is None


@pytest.mark.parametrize("value", ["0.91", None, True])
def test_a_metric_that_is_not_a_number_fails_closed(value: object) -> None:
    new = side("pr", 3.0, 2)
    new.metrics["roc_auc"] = value
    result = compare_sides(side("main", 3.0, 1), new)
    assert not result.verdict.passed
    assert result.verdict.reasons == [
        "no readable `roc_auc` for this revision (missing from metrics/metrics.json, or not a number): "
        "run `make repro` and commit metrics/metrics.json; the gate fails closed"
    ]
