"""The rollout settings the decision reads, from params.yaml's `rollout:` mapping.

The serving side owns the `rollout:` schema (config.py's RolloutConfig). Until the
decision's own fields are part of it, they are read here with their defaults
and checked, so that a bad value still fails with one line naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import GateConfig, describe_yaml_error, parse_gate
from ..errors import PipelineError

MODES = ("none", "shadow", "canary", "ab")
# The GTO stage a mode's candidate is served from, unless `candidate_stage` names another.
CANDIDATE_STAGES = {"shadow": "shadow", "canary": "canary", "ab": "canary"}
PROD = "prod"


@dataclass(frozen=True)
class RolloutSettings:
    """What the decision needs to know about the rollout in progress."""

    mode: str = "none"
    percent: float = 0.0  # canary: the share of users on the candidate now
    steps: tuple[int, ...] = (10, 25, 50, 100)  # canary: the shares it widens through
    split: float = 50.0  # ab: the candidate's share of users
    min_outcomes: int = 200  # outcomes per arm before the metric is compared
    max_error_rate: float = 0.01  # the candidate's share of failed requests that rolls it back
    max_p99_ms: float | None = None  # the candidate's p99 latency that rolls it back (None: no limit)
    candidate_stage: str = ""

    @property
    def candidate(self) -> str:
        """The GTO stage (and the arm in the logs) of the candidate."""
        return self.candidate_stage or CANDIDATE_STAGES.get(self.mode, "")

    @property
    def candidate_share(self) -> float | None:
        """The candidate's share of users (canary, A/B), or None for a shadow, which serves nobody."""
        return {"canary": self.percent, "ab": self.split}.get(self.mode)

    def next_step(self) -> int | None:
        """The canary's next share of users, or None at the last step."""
        return next((step for step in self.steps if step > self.percent), None)


def _fail(key: str, message: str) -> PipelineError:
    return PipelineError(f"invalid params: rollout.{key} {message}")


def rollout_settings(raw: Mapping[str, Any] | None) -> RolloutSettings:
    """Check params.yaml's `rollout:` mapping (None: no rollout) and return the decision's settings."""
    raw = dict(raw or {})
    mode = raw.get("mode", "none")
    if mode not in MODES:
        raise _fail("mode", f"must be one of {MODES}, not {mode!r}")
    try:
        steps = tuple(int(step) for step in raw.get("steps") or RolloutSettings.steps)
        settings = RolloutSettings(
            mode=mode,
            percent=float(raw.get("percent") or 0.0),
            steps=steps,
            split=float(raw.get("split", RolloutSettings.split)),
            min_outcomes=int(raw.get("min_outcomes", RolloutSettings.min_outcomes)),
            max_error_rate=float(raw.get("max_error_rate", RolloutSettings.max_error_rate)),
            max_p99_ms=None if raw.get("max_p99_ms") is None else float(raw["max_p99_ms"]),
            candidate_stage=str(raw.get("candidate_stage") or ""),
        )
    except (TypeError, ValueError) as exc:
        raise PipelineError(f"invalid params: rollout: {exc}") from None
    if list(steps) != sorted(set(steps)) or not all(0 < step <= 100 for step in steps):
        raise _fail("steps", "must be increasing percentages in (0, 100], e.g. [10, 25, 50, 100]")
    if not 0 <= settings.percent <= 100:
        raise _fail("percent", "must be in [0, 100]")
    if not 0 <= settings.split <= 100:
        raise _fail("split", "must be in [0, 100]")
    if settings.min_outcomes < 1:
        raise _fail("min_outcomes", "must be at least 1")
    if not 0 <= settings.max_error_rate <= 1:
        raise _fail("max_error_rate", "must be in [0, 1]")
    if settings.max_p99_ms is not None and settings.max_p99_ms <= 0:
        raise _fail("max_p99_ms", "must be positive, or null for no limit")
    if settings.candidate == PROD:
        raise _fail("candidate_stage", f"must not be {PROD!r}: the candidate is compared with prod")
    return settings


@dataclass(frozen=True)
class RolloutParams:
    """The parts of params.yaml a rollout report reads."""

    rollout: RolloutSettings
    gate: GateConfig
    seed: int
    positive_class: Any


def load_rollout_params(path: Path) -> RolloutParams:
    """Read and check the rollout's, the gate's and the seed's values from params.yaml.

    Read on their own (not through `load_params`) until config.py's RolloutConfig
    holds the decision's fields; then this becomes `load_params(path)`.
    """
    import yaml

    if not path.is_file():
        raise PipelineError(f"{path} not found: run `make params` to compose it from conf/")
    try:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise PipelineError(f"not valid YAML: {describe_yaml_error(exc)}") from None
    if not isinstance(raw, dict):
        raise PipelineError("invalid params: params.yaml must hold a mapping; run `make params`")
    rollout = raw.get("rollout")
    if rollout is not None and not isinstance(rollout, dict):
        raise PipelineError("invalid params: rollout must be a mapping, e.g. {mode: canary, percent: 10}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise PipelineError("invalid params: seed must be an integer")
    positive = (raw.get("data") or {}).get("positive_class")
    return RolloutParams(rollout_settings(rollout), parse_gate(raw.get("gate") or {}), seed, positive)
