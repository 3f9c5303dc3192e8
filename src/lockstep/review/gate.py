"""The merge gate: may this model replace the base branch's model?

A pure decision over numbers, so its whole table can be tested: the gate
fails closed when the new metric is missing, fails below the threshold, and
fails on a regression beyond the tolerance unless the paired bootstrap says
the drop could be noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .. import paths
from ..config import GateConfig
from ..evaluation.metrics import LOWER_IS_BETTER
from .bootstrap import Interval


@dataclass(frozen=True)
class Verdict:
    """The gate's decision and every reason behind it, in the order checked."""

    passed: bool
    metric: str
    new_value: float | None
    base_value: float | None
    interval: Interval | None
    reasons: list[str] = field(default_factory=list)


def decide(
    metric: str, new_value: float | None, base_value: float | None, interval: Interval | None, cfg: GateConfig
) -> Verdict:
    """Apply the gate's rules to the primary metric of the new and the base model."""
    lower_is_better = metric in LOWER_IS_BETTER
    if new_value is None or not math.isfinite(new_value):
        reason = (
            f"no readable `{metric}` for this revision (missing from {paths.EVAL_METRICS}, or not a number): "
            f"run `make repro` and commit {paths.EVAL_METRICS}; the gate fails closed"
        )
        return Verdict(False, metric, None, base_value, interval, [reason])
    reasons: list[str] = []
    passed = True
    meets = new_value <= cfg.threshold if lower_is_better else new_value >= cfg.threshold
    relation = "at most" if lower_is_better else "at least"
    if meets:
        reasons.append(f"`{metric}` = {new_value:.4f} meets the threshold ({relation} {cfg.threshold:g})")
    else:
        passed = False
        reasons.append(f"`{metric}` = {new_value:.4f} misses the threshold ({relation} {cfg.threshold:g})")
    if base_value is None or not math.isfinite(base_value):
        reasons.append("the base has no model to compare with: judged on the threshold alone")
        return Verdict(passed, metric, new_value, None, interval, reasons)
    passed = _compare_with_base(metric, new_value, base_value, interval, cfg, reasons) and passed
    return Verdict(passed, metric, new_value, base_value, interval, reasons)


def holds_against_base(
    metric: str, new_value: float, base_value: float, interval: Interval | None, cfg: GateConfig
) -> tuple[bool, str]:
    """Whether `new_value` is no worse than `base_value` beyond the tolerance (or only within noise), and why."""
    reasons: list[str] = []
    return _compare_with_base(metric, new_value, base_value, interval, cfg, reasons), reasons[0]


def _compare_with_base(
    metric: str, new_value: float, base_value: float, interval: Interval | None, cfg: GateConfig, reasons: list[str]
) -> bool:
    sign = -1 if metric in LOWER_IS_BETTER else 1
    gain = sign * (new_value - base_value)  # > 0: better than the base
    change = f"{new_value - base_value:+.4f} against the base ({base_value:.4f})"
    if gain >= -cfg.max_regression:
        reasons.append(f"{change}: within the tolerance of {cfg.max_regression:g}")
        return True
    if interval is None:
        reasons.append(
            f"{change}: worse than the tolerance of {cfg.max_regression:g}, "
            "and no paired predictions to tell noise from a real drop"
        )
        return False
    best_case = max(sign * interval.low, sign * interval.high)  # the most favourable end, in gain terms
    ci = f"{interval.confidence:.0%} CI [{interval.low:+.4f}, {interval.high:+.4f}]"
    if best_case < 0:
        reasons.append(f"{change}: worse than the tolerance of {cfg.max_regression:g}, and real ({ci} excludes 0)")
        return False
    reasons.append(f"{change}: beyond the tolerance of {cfg.max_regression:g}, but within noise ({ci} includes 0)")
    return True
