"""The rollout's decision: promote the candidate, roll it back, widen a canary, or wait for more evidence.

A pure function of the arms' summaries and the metric comparison, so its
whole table is tested. Guardrails come first (a candidate that fails requests
or is slow is rolled back at once, outcomes or not); then the metric, once
`min_outcomes` users have an outcome, by its always-valid bounds of the
candidate's gain over prod (`sequential.py`: they hold at every hourly look):

- shadow and A/B promote only a candidate that is better (the bounds lie above
  0), roll back one that is worse (below 0), and otherwise keep collecting: no
  difference never promotes.
- a canary is a non-inferiority test: it widens to its next step (or is
  promoted at its last step below 100%) only once the bounds lie above
  -`gate.max_regression`, is rolled back once they lie below it, and otherwise
  waits, saying that the data cannot yet tell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from ..config import RolloutConfig
from ..evaluation.metrics import LOWER_IS_BETTER
from .compare import ArmSummary, Comparison


class Action(StrEnum):
    """What the rollout does next."""

    WAIT = "wait"
    NEXT_STEP = "next-step"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


# The rollout report command's exit status per action (2 is an error, as for every subcommand).
EXIT_CODES = {Action.WAIT: 0, Action.NEXT_STEP: 3, Action.PROMOTE: 4, Action.ROLLBACK: 5}


@dataclass(frozen=True)
class Decision:
    """The action, on which candidate (its GTO stage and version), and why."""

    action: Action
    mode: str
    stage: str
    version: str
    percent: float | None = None  # next-step: the canary's new share of users
    reasons: list[str] = field(default_factory=list)


def broken_guardrails(candidate: ArmSummary, settings: RolloutConfig) -> list[str]:
    """What the candidate's own traffic breaks: its failure rate, its p99 latency."""
    broken = []
    if candidate.error_rate > settings.max_error_rate:
        broken.append(
            f"the candidate failed {candidate.error_rate:.2%} of its {candidate.requests:,} requests "
            f"(limit {settings.max_error_rate:.2%})"
        )
    p99 = candidate.latency_ms[99]
    if settings.max_p99_ms is not None and p99 > settings.max_p99_ms:
        broken.append(f"the candidate's p99 latency is {p99:.1f} ms (limit {settings.max_p99_ms:g} ms)")
    return broken


def decide(settings: RolloutConfig, arms: list[ArmSummary], comparison: Comparison, max_regression: float) -> Decision:
    """The next action of the rollout that `settings` describes, on this evidence."""
    candidate = next((arm for arm in arms if arm.arm == settings.candidate_arm), None)

    def verdict(action: Action, *reasons: str, percent: float | None = None) -> Decision:
        version = candidate.version if candidate else ""
        return Decision(action, settings.mode, settings.candidate_arm, version, percent, list(reasons))

    if candidate is None:
        return verdict(Action.WAIT, f"no request has reached the `{settings.candidate_arm}` arm yet")
    broken = broken_guardrails(candidate, settings)
    if broken:
        return verdict(Action.ROLLBACK, *broken)
    guarded = f"guardrails hold ({candidate.error_rate:.2%} failed, p99 {candidate.latency_ms[99]:.1f} ms)"
    if comparison.outcomes < settings.min_outcomes:
        needed = f"{comparison.outcomes:,} of the {settings.min_outcomes:,} users with an outcome needed"
        return verdict(Action.WAIT, guarded, needed)
    bounds = comparison.bounds
    if bounds is None:
        return verdict(Action.WAIT, guarded, f"no bounds for `{comparison.metric}` yet: {comparison.note}")
    sign = -1 if comparison.metric in LOWER_IS_BETTER else 1
    gain_low, gain_high = sorted((sign * bounds.low, sign * bounds.high))
    shown = (
        f"`{comparison.metric}` {bounds.delta:+.4f} against prod on the same {bounds.observations:,} users, "
        f"always-valid {bounds.confidence:.0%} bounds [{bounds.low:+.4f}, {bounds.high:+.4f}]"
    )
    if settings.mode == "canary":
        return _canary(settings, verdict, guarded, shown, gain_low, gain_high, max_regression)
    if gain_high < 0:
        return verdict(Action.ROLLBACK, guarded, f"{shown}: worse than prod")
    if gain_low > 0:
        return verdict(Action.PROMOTE, guarded, f"{shown}: better than prod")
    return verdict(Action.WAIT, guarded, f"{shown}: the data cannot yet tell whether it is better; keep collecting")


def _canary(
    settings: RolloutConfig,
    verdict: Callable[..., Decision],
    guarded: str,
    shown: str,
    gain_low: float,
    gain_high: float,
    max_regression: float,
) -> Decision:
    if gain_high < -max_regression:
        return verdict(Action.ROLLBACK, guarded, f"{shown}: worse than prod beyond the tolerance of {max_regression:g}")
    if gain_low <= -max_regression:
        return verdict(
            Action.WAIT,
            guarded,
            f"{shown}: the data cannot yet tell whether it is within the tolerance of {max_regression:g}; "
            "keep collecting",
        )
    within = f"{shown}: no worse than prod beyond the tolerance of {max_regression:g}"
    step = settings.next_step()
    if step is not None and step < 100:
        return verdict(Action.NEXT_STEP, guarded, within, f"widen {settings.percent:g}% -> {step:g}%", percent=step)
    return verdict(Action.PROMOTE, guarded, within)
