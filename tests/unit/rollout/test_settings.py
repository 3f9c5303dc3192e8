"""The rollout settings read from params.yaml: defaults, and one line naming a bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.errors import PipelineError
from lockstep.rollout.settings import load_rollout_params, rollout_settings


def test_defaults_and_the_candidate_stage_per_mode() -> None:
    assert rollout_settings(None).mode == "none"
    assert rollout_settings({"mode": "shadow"}).candidate == "shadow"
    assert rollout_settings({"mode": "ab"}).candidate == "canary"
    canary = rollout_settings({"mode": "canary", "percent": 25, "steps": [5, 25, 60, 100]})
    assert (canary.next_step(), canary.candidate_share) == (60, 25)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"mode": "blue-green"}, "rollout.mode: Input should be 'none', 'shadow', 'canary' or 'ab'"),
        ({"mode": "canary", "steps": [50, 10]}, "rollout: steps must rise strictly, e.g. [10, 25, 50, 100]"),
        ({"mode": "canary", "steps": [10, 150]}, "rollout.steps.1: Input should be less than or equal to 100"),
        ({"mode": "ab", "min_outcomes": 0}, "rollout.min_outcomes: Input should be greater than or equal to 1"),
        ({"mode": "ab", "max_error_rate": 2}, "rollout.max_error_rate: Input should be less than or equal to 1"),
        ({"mode": "ab", "max_p99_ms": 0}, "rollout.max_p99_ms: Input should be greater than 0"),
        ({"mode": "ab", "candidate_stage": "prod"}, "rollout.candidate_stage: Input should be 'shadow' or 'canary'"),
        ({"mode": "ab", "min_outcomes": "many"}, "rollout.min_outcomes: Input should be a valid integer"),
    ],
)
def test_bad_settings_fail_with_the_key(raw: dict, message: str) -> None:
    with pytest.raises(PipelineError, match="invalid params: rollout") as error:
        rollout_settings(raw)
    assert message in str(error.value)


def test_params_yaml_gives_the_gate_seed_and_positive_class(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(
        "seed: 7\ndata: {positive_class: 1}\ngate: {metric: roc_auc, confidence: 0.9}\nrollout: {mode: ab}\n"
    )
    read = load_rollout_params(params)
    assert (read.seed, read.positive_class, read.gate.confidence, read.rollout.mode) == (7, 1, 0.9, "ab")
    params.write_text("gate: {confidence: 2}\n")
    with pytest.raises(PipelineError, match="gate.confidence must be between 0 and 1"):
        load_rollout_params(params)
    params.write_text("rollout: [canary]\n")
    with pytest.raises(PipelineError, match="rollout must be a mapping"):
        load_rollout_params(params)
