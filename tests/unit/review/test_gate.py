from __future__ import annotations

import pytest

from lockstep.review.bootstrap import Interval
from lockstep.review.gate import decide

from tests.shared import replace, shipped_params

CFG = replace(shipped_params().gate, threshold=0.70, max_regression=0.01)


def interval(low: float, high: float, delta: float | None = None) -> Interval:
    return Interval(delta if delta is not None else (low + high) / 2, low, high, 0.95, 1000)


@pytest.mark.parametrize(
    ("metric", "new", "base", "ci", "passed", "phrase"),
    [
        # fails closed
        ("roc_auc", None, 0.75, None, False, "fails closed"),
        ("roc_auc", float("nan"), 0.75, None, False, "fails closed"),
        # the threshold alone: first model
        ("roc_auc", 0.72, None, None, True, "judged on the threshold alone"),
        ("roc_auc", 0.65, None, None, False, "misses the threshold (at least 0.7)"),
        # better, equal, or worse within the tolerance
        ("roc_auc", 0.76, 0.75, None, True, "within the tolerance"),
        ("roc_auc", 0.745, 0.75, None, True, "within the tolerance"),
        # worse beyond the tolerance: the bootstrap decides
        ("roc_auc", 0.72, 0.75, interval(-0.05, -0.012), False, "real (95% CI [-0.0500, -0.0120] excludes 0)"),
        ("roc_auc", 0.72, 0.75, interval(-0.06, 0.004), True, "within noise"),
        ("roc_auc", 0.72, 0.75, None, False, "no paired predictions"),
        # above the base but below the threshold still fails
        ("roc_auc", 0.69, 0.68, None, False, "misses the threshold"),
        # lower is better: the threshold is a ceiling and the signs flip
        ("log_loss", 0.30, 0.31, None, True, "meets the threshold (at most 0.7)"),
        ("log_loss", 0.35, 0.30, interval(0.02, 0.08), False, "excludes 0"),
        ("log_loss", 0.35, 0.30, interval(-0.01, 0.08), True, "within noise"),
        ("log_loss", 0.75, None, None, False, "misses the threshold (at most 0.7)"),
    ],
)
def test_decision_table(
    metric: str, new: float | None, base: float | None, ci: Interval | None, passed: bool, phrase: str
) -> None:
    verdict = decide(metric, new, base, ci, CFG)
    assert verdict.passed is passed
    assert any(phrase in reason for reason in verdict.reasons), verdict.reasons
