"""`rollout:`: how `serve` routes between `prod` and a candidate, and when the rollout report decides.

Unlike the other groups, this schema keeps defaults, and they equal the values in
`conf/rollout/<mode>.yaml` (a test holds the two together): a rollout also
arrives as a partial mapping (`POST /admin/rollout`'s body, `serve --rollout
FILE`) where no `conf/` is at hand, e.g. in the serving image.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from ..errors import PipelineError
from .base import Section, closed_set, one_line
from .enums import CANDIDATE_STAGES, RolloutMode, Stage

Percent = Annotated[float, Field(ge=0, le=100)]


class RolloutConfig(Section):
    """A rollout: params.yaml's `rollout:`, a rollout file, or `POST /admin/rollout`'s body."""

    mode: closed_set(RolloutMode) = RolloutMode.NONE
    # The candidate's GTO stage, which names its arm: shadow for shadow mode, canary for canary and ab.
    candidate_stage: closed_set(Stage | None) = None
    # What to load as the candidate if not the version in candidate_stage: a version (v1.2.0) or a bundle folder.
    candidate: str | None = None
    percent: Percent = 10  # canary: the share of traffic the candidate answers
    steps: list[Annotated[float, Field(gt=0, le=100)]] = Field(default_factory=lambda: [10, 25, 50, 100])
    split: Percent = 50  # ab: the candidate's share
    sticky_key: str | None = None  # a contract column; null: each request is assigned by its request id
    salt: str = Field("rollout", min_length=1)
    shadow_queue: int = Field(10_000, ge=1, le=1_000_000)  # requests waiting for the shadow; more are dropped
    shadow_budget_ms: float = Field(5.0, gt=0)  # what a shadow may add to a response's latency
    min_outcomes: int = Field(200, ge=1)  # users with an outcome, before the rollout report decides
    # Where the report's always-valid bounds are tightest (users with an outcome); they hold at any count.
    planned_outcomes: int = Field(10_000, ge=1)
    max_error_rate: float = Field(0.01, ge=0, le=1)  # the candidate's share of failed requests that rolls it back
    max_p99_ms: float | None = Field(None, gt=0)  # the candidate's p99 latency that rolls it back (null: no limit)

    @model_validator(mode="before")
    @classmethod
    def _default_stage(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("candidate_stage") is None:
            return {**raw, "candidate_stage": CANDIDATE_STAGES.get(raw.get("mode", RolloutMode.NONE))}
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> RolloutConfig:
        if self.steps != sorted(set(self.steps)):
            raise ValueError("steps must rise strictly, e.g. [10, 25, 50, 100]")
        expected = CANDIDATE_STAGES.get(self.mode)
        if self.candidate_stage != expected:
            raise ValueError(f"candidate_stage must be {expected or 'null'} when mode is {self.mode}")
        return self

    @property
    def candidate_share(self) -> float | None:
        """The percentage of requests the candidate answers; None for a shadow (it answers none) or no rollout."""
        return {RolloutMode.CANARY: self.percent, RolloutMode.AB: self.split}.get(self.mode)

    @property
    def candidate_arm(self) -> str:
        """The candidate's arm in the logs (its GTO stage), or "" without a rollout."""
        return str(self.candidate_stage or "")

    def next_step(self) -> float | None:
        """The canary's next share of traffic after `percent`, or None at the last step."""
        return next((step for step in self.steps if step > self.percent), None)


def parse_rollout(raw: Any, where: str = "rollout") -> RolloutConfig:
    """Check a rollout mapping (params.yaml's `rollout:`, a file, or an admin request's body); one-line errors."""
    if raw is not None and not isinstance(raw, dict):
        raise PipelineError(
            f"invalid params: {where} must be a mapping of keys to values, as in conf/rollout/canary.yaml"
        )
    try:
        return RolloutConfig.model_validate(raw or {})
    except ValidationError as exc:
        raise one_line(exc, where) from None
