"""The router's assignment, the shadow queue's bounds, and the rollout config's schema (no server)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
import yaml

from lockstep.config import (
    RolloutConfig,
    compose_params,
    load_rollout,
    parse_params,
    parse_rollout,
)
from lockstep.errors import PipelineError
from lockstep.registry import PROD
from lockstep.registry.store import ModelVersion, load_version
from lockstep.serving import shadow
from lockstep.serving.observe import Metrics
from lockstep.serving.prediction_log import PredictionLog
from lockstep.serving.routing import BUCKETS, RoutingTable, bucket, sticky_value
from lockstep.serving.shadow import ShadowScorer
from lockstep.serving.shadow_process import ShadowJob

from tests.conftest import PACKAGE, REPO_ROOT


def binomial_interval(n: int, p: float, z: float = 3.2905) -> tuple[float, float]:
    """The two-sided 99.9% normal interval of a Binomial(n, p) count."""
    spread = z * math.sqrt(n * p * (1 - p))
    return n * p - spread, n * p + spread


def test_a_bucket_is_the_same_in_every_process() -> None:
    # Pinned values: Python's hash() is salted per process and would change them on every run.
    assert [bucket("rollout", key) for key in ("L000000001", "alice", "")] == [2124, 537, 7570]
    assert bucket("other salt", "alice") != bucket("rollout", "alice")


def test_ten_percent_of_keys_fall_below_the_threshold() -> None:
    below = sum(bucket("rollout", f"user-{i}") < BUCKETS // 10 for i in range(20_000))
    low, high = binomial_interval(20_000, 0.1)
    assert low <= below <= high


def test_the_sticky_value_is_the_first_records_key_or_else_the_request_id() -> None:
    assert sticky_value([{"loan_id": "L1"}, {"loan_id": "L2"}], "loan_id", "r1") == "L1"
    assert sticky_value([{"loan_id": None}], "loan_id", "r1") == "r1"
    assert sticky_value([{"age": 30}], "loan_id", "r1") == "r1"
    assert sticky_value([{"loan_id": "L1"}], None, "r1") == "r1"


@pytest.fixture(scope="module")
def versions(bundle: Path, candidate_bundle: Path) -> tuple[ModelVersion, ModelVersion]:
    return load_version(str(bundle)), load_version(str(candidate_bundle))


def test_each_mode_routes_to_the_arms_it_names(versions: tuple[ModelVersion, ModelVersion]) -> None:
    prod, candidate = versions
    keys = [f"user-{i}" for i in range(2_000)]

    def arms(table: RoutingTable) -> set[str]:
        return {table.choose(key)[0] for key in keys}

    assert arms(RoutingTable(RolloutConfig(), prod)) == {PROD}
    assert arms(RoutingTable(parse_rollout({"mode": "shadow"}), prod, candidate)) == {PROD}
    assert arms(RoutingTable(parse_rollout({"mode": "canary", "percent": 0}), prod, candidate)) == {PROD}
    assert arms(RoutingTable(parse_rollout({"mode": "canary", "percent": 100}), prod, candidate)) == {"canary"}
    assert arms(RoutingTable(parse_rollout({"mode": "ab", "split": 50}), prod, candidate)) == {PROD, "canary"}
    half = RoutingTable(parse_rollout({"mode": "ab", "split": 50}), prod, candidate)
    assert half.choose("user-7")[1] is (candidate if half.choose("user-7")[0] == "canary" else prod)
    shadow = RoutingTable(parse_rollout({"mode": "shadow"}), prod, candidate)
    assert shadow.shadow is candidate


def test_widening_a_canary_keeps_every_canary_user_on_the_canary(versions: tuple[ModelVersion, ModelVersion]) -> None:
    prod, candidate = versions
    keys = [f"user-{i}" for i in range(2_000)]
    narrow = RoutingTable(parse_rollout({"mode": "canary", "percent": 10}), prod, candidate)
    wide = RoutingTable(parse_rollout({"mode": "canary", "percent": 25}), prod, candidate)
    on_narrow = {key for key in keys if narrow.choose(key)[0] == "canary"}
    on_wide = {key for key in keys if wide.choose(key)[0] == "canary"}
    assert on_narrow < on_wide


def test_a_table_refuses_a_sticky_key_outside_the_contract(versions: tuple[ModelVersion, ModelVersion]) -> None:
    prod, candidate = versions
    assert RoutingTable(parse_rollout({"mode": "canary", "sticky_key": "loan_id"}), prod, candidate)
    with pytest.raises(PipelineError, match=r"rollout.sticky_key: 'colour' is not a column of v0.3.0's contract"):
        RoutingTable(parse_rollout({"mode": "canary", "sticky_key": "colour"}), prod, candidate)
    with pytest.raises(PipelineError, match="a canary rollout needs a candidate"):
        RoutingTable(parse_rollout({"mode": "canary"}), prod)


def test_a_full_shadow_queue_drops_and_counts(versions: tuple[ModelVersion, ModelVersion], tmp_path: Path) -> None:
    metrics = Metrics()
    log = PredictionLog(tmp_path / "predictions.jsonl")

    async def offer_five() -> list[bool]:
        scorer = ShadowScorer(metrics, log, tmp_path / "predictions.shadow.jsonl")  # not started: nothing is sent
        job = ShadowJob(b'{"age": 30}', "v1", ["r:0"], "r", 0.0, 5.0)
        accepted = [scorer.offer(versions[1], job, limit=2) for _ in range(5)]
        await scorer.stop()  # what is still queued is dropped too
        return accepted

    assert asyncio.run(offer_five()) == [True, True, False, False, False]
    log.close()
    assert metrics.registry.get_sample_value(f"{PACKAGE}_shadow_dropped_total") == 5


def test_the_shadow_queue_holds_at_most_its_bytes(
    versions: tuple[ModelVersion, ModelVersion], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shadow, "MAX_QUEUED_BYTES", 25)
    metrics = Metrics()
    log = PredictionLog(tmp_path / "predictions.jsonl")

    async def offer() -> list[bool]:
        scorer = ShadowScorer(metrics, log, tmp_path / "predictions.shadow.jsonl")  # not started: nothing is sent
        job = ShadowJob(b'{"age": 30}', "v1", ["r:0"], "r", 0.0, 5.0)  # 11 bytes
        accepted = [scorer.offer(versions[1], job, limit=100) for _ in range(3)]
        await scorer.stop()
        return accepted

    assert asyncio.run(offer()) == [True, True, False]
    log.close()
    assert metrics.registry.get_sample_value(f"{PACKAGE}_shadow_dropped_total") == 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"mode": "blue"}, "rollout.mode: Input should be 'none', 'shadow', 'canary' or 'ab'"),
        ({"mode": "canary", "percent": 101}, "rollout.percent: Input should be less than or equal to 100"),
        ({"mode": "canary", "percent": "10"}, "rollout.percent: Input should be a valid number"),
        ({"split": -1}, "rollout.split: Input should be greater than or equal to 0"),
        ({"steps": [50, 25]}, "rollout: steps must rise strictly"),
        ({"steps": [0, 50]}, r"rollout.steps.0: Input should be greater than 0"),
        ({"shadow_queue": 0}, "rollout.shadow_queue: Input should be greater than or equal to 1"),
        ({"shadow_budget_ms": 0}, "rollout.shadow_budget_ms: Input should be greater than 0"),
        ({"min_outcomes": 0}, "rollout.min_outcomes: Input should be greater than or equal to 1"),
        ({"salt": ""}, "rollout.salt: String should have at least 1 character"),
        (
            {"mode": "shadow", "candidate_stage": "canary"},
            "rollout: candidate_stage must be shadow when mode is shadow",
        ),
        ({"percentage": 10}, "rollout.percentage is not a key of rollout"),
        ([10], "rollout must be a mapping of keys to values"),
    ],
)
def test_a_bad_rollout_gets_a_one_line_error(raw: object, message: str) -> None:
    with pytest.raises(PipelineError, match=message) as caught:
        parse_rollout(raw)
    assert "\n" not in str(caught.value)


def test_the_candidate_stage_follows_the_mode() -> None:
    assert parse_rollout({}).candidate_stage is None
    assert parse_rollout({"mode": "shadow"}).candidate_stage == "shadow"
    assert parse_rollout({"mode": "canary"}).candidate_stage == "canary"
    assert parse_rollout({"mode": "ab"}).candidate_stage == "canary"
    assert parse_rollout({"mode": "ab", "split": 30}).candidate_share == 30


def test_each_rollout_option_composes_into_params(tmp_path: Path) -> None:
    for option in ("none", "shadow", "canary", "ab"):
        config = compose_params([f"rollout={option}"], output=tmp_path / "params.yaml")
        assert config.rollout.mode == option
        assert load_rollout(tmp_path / "params.yaml").mode == option
        assert load_rollout(REPO_ROOT / "conf" / "rollout" / f"{option}.yaml", None).mode == option


def test_params_with_a_bad_rollout_are_refused_in_one_line(tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    with pytest.raises(PipelineError, match=r"^invalid params: rollout.percent: Input should be less than or equal"):
        parse_params({**raw, "rollout": {"mode": "canary", "percent": 200}})
    (tmp_path / "rollout.yaml").write_text("mode: canary\npercent: [\n")
    with pytest.raises(PipelineError, match=r"not valid YAML: .*rollout.yaml, line"):
        load_rollout(tmp_path / "rollout.yaml", None)
    with pytest.raises(PipelineError, match="not found"):
        load_rollout(tmp_path / "missing.yaml", None)


def test_no_pipeline_stage_reads_the_rollout() -> None:
    """Changing the rollout must not re-run the pipeline: no stage lists it among its params."""
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for entry in stage.get("params", []):
            keys = list(entry) if isinstance(entry, dict) else [entry]
            assert not any(str(key).split(".")[0] == "rollout" for key in keys), name
