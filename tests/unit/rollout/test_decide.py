"""The rollout decision's table: guardrails, the minimum of outcomes, and the always-valid bounds, per mode."""

from __future__ import annotations

import pytest

from lockstep.config import parse_rollout
from lockstep.rollout.compare import ArmSummary, Comparison
from lockstep.rollout.decide import Action, decide
from lockstep.rollout.sequential import Bounds

TOLERANCE = 0.01


def arm(name: str, error_rate: float = 0.0, p99: float = 8.0) -> ArmSummary:
    return ArmSummary(name, "v0.2.0", True, 1000, 0.5, error_rate, {50: 4.0, 95: 6.0, 99: p99}, 1000, 500, None, 0.8)


def comparison(low: float, high: float, outcomes: int = 500, metric: str = "roc_auc") -> Comparison:
    bounds = Bounds((low + high) / 2, low, high, (high - low) / 6, outcomes, 0.95)
    return Comparison(metric, outcomes, 0.80, 0.80 + bounds.delta, bounds, None)


ARMS = [arm("prod"), arm("canary")]


@pytest.mark.parametrize(
    ("rollout", "low", "high", "action"),
    [
        ({"mode": "ab"}, 0.01, 0.05, Action.PROMOTE),
        ({"mode": "ab"}, -0.02, 0.03, Action.WAIT),  # no difference shown: never promotes
        ({"mode": "ab"}, -0.05, -0.01, Action.ROLLBACK),
        ({"mode": "canary", "percent": 10}, -0.009, 0.01, Action.NEXT_STEP),  # within the tolerance
        ({"mode": "canary", "percent": 10}, -0.015, 0.01, Action.WAIT),  # it cannot yet tell: never widens
        ({"mode": "canary", "percent": 10}, -0.05, -0.02, Action.ROLLBACK),  # worse beyond the tolerance
        ({"mode": "canary", "percent": 50}, -0.009, 0.01, Action.PROMOTE),  # the next step is 100%
        ({"mode": "canary", "percent": 50}, -0.03, 0.01, Action.WAIT),  # a drop beyond it not ruled out
    ],
)
def test_the_bounds_decide_once_there_are_enough_outcomes(
    rollout: dict, low: float, high: float, action: Action
) -> None:
    decision = decide(parse_rollout(rollout), ARMS, comparison(low, high), TOLERANCE)
    assert decision.action is action, decision.reasons
    assert (decision.stage, decision.version) == ("canary", "v0.2.0")
    assert decision.percent == (25 if action is Action.NEXT_STEP else None)


def test_a_loss_metric_is_better_when_it_falls() -> None:
    decision = decide(parse_rollout({"mode": "ab"}), ARMS, comparison(-0.05, -0.01, metric="log_loss"), TOLERANCE)
    assert decision.action is Action.PROMOTE


def test_too_few_outcomes_wait_even_for_a_clear_winner() -> None:
    decision = decide(parse_rollout({"mode": "ab", "min_outcomes": 501}), ARMS, comparison(0.1, 0.2), TOLERANCE)
    assert decision.action is Action.WAIT
    assert "500 of the 501 users with an outcome needed" in decision.reasons[-1]


@pytest.mark.parametrize(
    ("candidate", "message"),
    [(arm("canary", error_rate=0.02), "failed 2.00% of its 1,000 requests"), (arm("canary", p99=250.0), "p99")],
)
def test_guardrails_roll_back_before_any_outcome(candidate: ArmSummary, message: str) -> None:
    settings = parse_rollout({"mode": "canary", "percent": 10, "max_p99_ms": 200})
    decision = decide(settings, [arm("prod"), candidate], comparison(0.1, 0.2, outcomes=0), TOLERANCE)
    assert decision.action is Action.ROLLBACK
    assert message in decision.reasons[0]


def test_a_candidate_without_traffic_waits() -> None:
    decision = decide(parse_rollout({"mode": "shadow"}), [arm("prod")], comparison(0.1, 0.2), TOLERANCE)
    assert (decision.action, decision.stage, decision.version) == (Action.WAIT, "shadow", "")


def test_a_canary_whose_data_cannot_yet_tell_says_so() -> None:
    # Its estimate is 4 x the tolerance below prod, but the bounds are wide: it neither widens nor rolls back.
    decision = decide(parse_rollout({"mode": "canary", "percent": 10}), ARMS, comparison(-0.09, 0.01), TOLERANCE)
    assert decision.action is Action.WAIT
    assert "the data cannot yet tell whether it is within the tolerance of 0.01" in decision.reasons[-1]
