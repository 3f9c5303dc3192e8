"""Routing when the candidate's stage is empty (after a rollback or a promotion): prod answers alone, and says so.

The registry is real Git with GTO tags; prod and the candidate are the bundles v0.3.0 and v0.4.0.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from lockstep import registry
from lockstep.config import RolloutConfig, parse_rollout
from lockstep.errors import PipelineError
from lockstep.registry.store import EmptyStageError, ModelVersion
from lockstep.serving.admin import Admin, ReloadSource
from lockstep.serving.app import create_app
from lockstep.serving.routing import RoutingTable, follow_stage, load_table
from lockstep.serving.state import ServerState

from tests.conftest import PACKAGE, REPO_ROOT
from tests.unit.registry.test_tags import commit_model, git


@pytest.fixture
def rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory: a registry with v0.1.0 in prod, and v0.2.0 rolled back out of canary."""
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.skops\n    type: model\n")
    (tmp_path / ".gto").write_text((REPO_ROOT / ".gto").read_text())
    for md5, message in (("a" * 32, "first"), ("b" * 32, "second")):
        commit_model(tmp_path, md5, message)
        registry.register(str(tmp_path))
    registry.assign(str(tmp_path), "v0.1.0", "prod")
    registry.assign(str(tmp_path), "v0.2.0", "canary")
    registry.unassign(str(tmp_path), "v0.2.0", "canary", message="rolled back")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("raw", "stage"),
    [({"mode": "canary", "percent": 50}, "canary"), ({"mode": "ab"}, "canary"), ({"mode": "shadow"}, "shadow")],
)
def test_an_empty_candidate_stage_serves_prod_only_and_warns_in_one_line(
    rolled_back: Path, prod: ModelVersion, caplog: pytest.LogCaptureFixture, raw: dict, stage: str
) -> None:
    with caplog.at_level(logging.WARNING):
        table = load_table(parse_rollout(raw), prod)
    assert (table.candidate, table.shadow, table.stage_empty) == (None, None, True)
    assert {table.choose(f"user-{i}")[0] for i in range(1_000)} == {"prod"}
    assert table.describe()["arms"] == {"prod": "v0.3.0"}
    assert table.describe()["prod_only"] == f"stage {stage!r} holds no version"
    [warning] = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert f"stage {stage!r} holds no version" in warning
    assert "serving prod v0.3.0 only" in warning
    assert "\n" not in warning


def test_a_candidate_named_explicitly_must_load(rolled_back: Path, prod: ModelVersion, tmp_path: Path) -> None:
    """Only the stage a rollout follows may be empty: a named version, bundle or stage that is missing is an error."""
    for named, message in [
        ("v9.9.9", "model has no version v9.9.9"),
        (str(tmp_path / "no-bundle"), "is not a bundle folder, a version"),
        ("canary", "'canary' is not a bundle folder, a version"),
    ]:
        with pytest.raises(PipelineError, match=message):
            load_table(parse_rollout({"mode": "canary", "candidate": named}), prod)


def test_without_a_registry_the_stage_is_an_error_not_an_empty_stage(
    prod: ModelVersion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not a Git repository
    with pytest.raises(PipelineError, match="'canary' is not a bundle folder") as refused:
        load_table(parse_rollout({"mode": "canary"}), prod)
    assert not isinstance(refused.value, EmptyStageError)


def test_only_a_stage_following_rollout_can_find_its_stage_empty(prod: ModelVersion, candidate: ModelVersion) -> None:
    canary = parse_rollout({"mode": "canary"})
    for rollout, loaded in [
        (canary, candidate),
        (RolloutConfig(), None),
        (parse_rollout({"mode": "canary", "candidate": "v0.4.0"}), None),
    ]:
        with pytest.raises(PipelineError, match="only a rollout whose candidate is its stage's version"):
            RoutingTable(rollout, prod, loaded, stage_empty=True)
    with pytest.raises(PipelineError, match="a canary rollout needs a candidate"):
        RoutingTable(canary, prod)


def test_following_a_stage_loads_only_a_version_that_changed(prod: ModelVersion, candidate: ModelVersion) -> None:
    loads: list[str] = []

    def load(ref: str) -> ModelVersion:
        loads.append(ref)
        return candidate

    assert follow_stage("prod", prod, lambda stage: "v0.3.0", load) is prod
    assert follow_stage("prod", prod, lambda stage: "v0.4.0", load) is candidate
    assert loads == ["v0.4.0"]


def samples(state: ServerState) -> str:
    return generate_latest(state.metrics.registry).decode()


def test_a_reload_into_an_empty_stage_shows_prod_only_in_metrics_and_a_failed_one_changes_nothing(
    rolled_back: Path, prod: ModelVersion, candidate: ModelVersion, tmp_path: Path
) -> None:
    rollouts: list[RolloutConfig | PipelineError] = [parse_rollout({"mode": "canary", "percent": 50})]

    def source() -> RolloutConfig:
        given = rollouts.pop(0)
        if isinstance(given, PipelineError):
            raise given
        return given

    table = RoutingTable(parse_rollout({"mode": "canary", "percent": 50}), prod, candidate)
    app = create_app(table, tmp_path / "predictions.jsonl", reload_source=ReloadSource(source))
    state: ServerState = app.state.server
    present, applied, failed = (
        f"{PACKAGE}_rollout_candidate_present ",
        PACKAGE + '_reloads_total{result="applied"} ',
        PACKAGE + '_reloads_total{result="failed"} ',
    )
    assert f"{present}1.0" in samples(state)
    asyncio.run(Admin(state).reload())
    assert (state.router.table.candidate, state.router.table.stage_empty) == (None, True)
    assert all(f"{name}{value}" in samples(state) for name, value in ((present, 0.0), (applied, 1.0), (failed, 0.0)))
    rollouts.append(PipelineError("params.yaml: not YAML"))
    before = state.router.table
    asyncio.run(Admin(state).reload())
    assert state.router.table is before
    assert all(f"{name}{value}" in samples(state) for name, value in ((present, 0.0), (applied, 1.0), (failed, 1.0)))
