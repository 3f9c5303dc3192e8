"""The rollout's settings, from params.yaml's `rollout:` through the one schema: defaults, and one line naming a bad key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lockstep.config import load_params, parse_rollout
from lockstep.errors import PipelineError

from tests.conftest import REPO_ROOT


def test_defaults_and_the_candidate_stage_per_mode() -> None:
    assert parse_rollout(None).mode == "none"
    assert parse_rollout({"mode": "shadow"}).candidate_arm == "shadow"
    assert parse_rollout({"mode": "ab"}).candidate_arm == "canary"
    canary = parse_rollout({"mode": "canary", "percent": 25, "steps": [5, 25, 60, 100]})
    assert (canary.next_step(), canary.candidate_share) == (60, 25)


def test_a_fractional_step_is_kept_and_a_shadow_serves_no_share() -> None:
    canary = parse_rollout({"mode": "canary", "percent": 10, "steps": [12.5, 50, 100]})
    assert canary.next_step() == 12.5  # it was cast to int (12) by a second schema
    assert parse_rollout({"mode": "shadow"}).candidate_share is None
    assert parse_rollout({"mode": "none"}).candidate_share is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"mode": "blue-green"}, "rollout.mode: Input should be 'none', 'shadow', 'canary' or 'ab'"),
        ({"mode": "canary", "steps": [50, 10]}, "rollout: steps must rise strictly, e.g. [10, 25, 50, 100]"),
        ({"mode": "canary", "steps": [10, 150]}, "rollout.steps.1: Input should be less than or equal to 100"),
        ({"mode": "ab", "min_outcomes": 0}, "rollout.min_outcomes: Input should be greater than or equal to 1"),
        ({"mode": "ab", "max_error_rate": 2}, "rollout.max_error_rate: Input should be less than or equal to 1"),
        ({"mode": "ab", "max_p99_ms": 0}, "rollout.max_p99_ms: Input should be greater than 0"),
        ({"mode": "ab", "candidate_stage": "prod"}, "rollout: candidate_stage must be canary when mode is ab"),
        ({"mode": "ab", "min_outcomes": "many"}, "rollout.min_outcomes: Input should be a valid integer"),
        ({"mode": "ab", "percentt": 5}, "rollout.percentt is not a key of rollout"),
    ],
)
def test_bad_settings_fail_with_the_key(raw: dict, message: str) -> None:
    with pytest.raises(PipelineError, match="invalid params: rollout") as error:
        parse_rollout(raw)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_the_rollout_is_read_with_the_whole_of_params_yaml(tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw | {"seed": 7, "rollout": {"mode": "ab"}}))
    read = load_params(params)
    assert (read.seed, read.data.positive_class, read.rollout.mode) == (7, 1, "ab")
    params.write_text(yaml.safe_dump(raw | {"gate": raw["gate"] | {"confidence": 2}}))
    with pytest.raises(PipelineError, match="gate.confidence must be between 0 and 1"):
        load_params(params)
    params.write_text(yaml.safe_dump(raw | {"rollout": ["canary"]}))
    with pytest.raises(PipelineError, match="invalid params: rollout"):
        load_params(params)


def test_the_schema_s_rollout_defaults_equal_conf_rollout() -> None:
    """The rollout keeps schema defaults (partial bodies, no conf/ in the image): they must be conf/'s values."""
    for mode_file in sorted((REPO_ROOT / "conf" / "rollout").glob("*.yaml")):
        written = yaml.safe_load(mode_file.read_text())
        defaults = parse_rollout({"mode": written["mode"]})
        for key, value in written.items():
            assert getattr(defaults, key) == value, f"{mode_file.name}: {key} is {value!r}, the schema says otherwise"
