"""The rollout settings the decision reads, from params.yaml's `rollout:` mapping.

The mapping is checked by its one schema (config.py's RolloutConfig, which the
server uses too); this module gives the decision its view of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import GateConfig, describe_yaml_error, parse_gate, parse_rollout
from ..errors import PipelineError


@dataclass(frozen=True)
class RolloutSettings:
    """What the decision needs to know about the rollout in progress (made by `rollout_settings`).

    The defaults and the rules are the schema's (RolloutConfig), which also fills in
    the candidate's stage from the mode.
    """

    mode: str
    percent: float  # canary: the share of users on the candidate now
    steps: tuple[int, ...]  # canary: the shares it widens through
    split: float  # ab: the candidate's share of users
    min_outcomes: int  # outcomes per arm before the metric is compared
    max_error_rate: float  # the candidate's share of failed requests that rolls it back
    max_p99_ms: float | None  # the candidate's p99 latency that rolls it back (None: no limit)
    candidate: str  # the GTO stage (and the arm in the logs) of the candidate; "" without a rollout

    @property
    def candidate_share(self) -> float | None:
        """The candidate's share of users (canary, A/B), or None for a shadow, which serves nobody."""
        return {"canary": self.percent, "ab": self.split}.get(self.mode)

    def next_step(self) -> int | None:
        """The canary's next share of users, or None at the last step."""
        return next((step for step in self.steps if step > self.percent), None)


def rollout_settings(raw: Mapping[str, Any] | None) -> RolloutSettings:
    """Check params.yaml's `rollout:` mapping (None: no rollout) with its schema, and return the decision's settings."""
    checked = parse_rollout(dict(raw or {}))
    return RolloutSettings(
        mode=checked.mode,
        percent=checked.percent,
        steps=tuple(int(step) for step in checked.steps),
        split=checked.split,
        min_outcomes=checked.min_outcomes,
        max_error_rate=checked.max_error_rate,
        max_p99_ms=checked.max_p99_ms,
        candidate=checked.candidate_stage or "",
    )


@dataclass(frozen=True)
class RolloutParams:
    """The parts of params.yaml a rollout report reads."""

    rollout: RolloutSettings
    gate: GateConfig
    seed: int
    positive_class: Any


def load_rollout_params(path: Path) -> RolloutParams:
    """Read and check the rollout's, the gate's and the seed's values from params.yaml.

    Read on their own, not through `load_params`, as `config.load_rollout` does
    for the server: a rollout report needs only these sections to be valid.
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
