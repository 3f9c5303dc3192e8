"""The rollout workflow's own steps: report on logs in S3, post it, then promote, roll back, or wait.

The three scenarios take minutes (two jobs each, with the report run again
before acting), so they are `workflow` scenarios: `make test-workflows`
(or `pytest -m workflow tests/workflows/test_rollout.py`).
One world for the module: v0.1.0 is in prod; each scenario sets the rollout in
params.yaml on main, registers a new candidate version in its stage, uploads
synthetic serving logs to the S3 bucket (moto), and dispatches the workflow.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import Project
from tests.rollout_logs import Arm, write_logs
from tests.s3 import BUCKET, s3_client
from tests.workflows.conftest import World
from tests.workflows.test_promote import remote_tags

ISSUE = 7
PROD = Arm("v0.1.0", signal=1.0)


@pytest.fixture(scope="module")
def in_prod(world: World) -> World:
    """The world with main's model registered as v0.1.0 and assigned to prod."""
    clone = world.clone("main")
    clone.run("gto", "register", "model", "HEAD", "--version", "v0.1.0", env=world.env())
    clone.run("gto", "assign", "model", "--version", "v0.1.0", "--stage", "prod", env=world.env())
    clone.run("git", "push", "-q", "origin", "--tags", env=world.env())
    return world


def start_rollout(world: World, rollout: dict, version: str, stage: str) -> Project:
    """Commit `rollout` into main's params.yaml, register that commit as `version` and assign it to `stage`."""
    clone = world.clone("main")
    params = clone.root / "params.yaml"
    raw = yaml.safe_load(params.read_text())
    params.write_text(yaml.safe_dump(raw | {"rollout": rollout}, sort_keys=False))
    clone.run("git", "commit", "-q", "-am", f"Roll out {version} as {rollout['mode']}", env=world.env())
    clone.run("git", "push", "-q", "origin", "main", env=world.env())
    clone.run("gto", "register", "model", "HEAD", "--version", version, env=world.env())
    clone.run("gto", "assign", "model", "--version", version, "--stage", stage, env=world.env())
    clone.run("git", "push", "-q", "origin", "--tags", env=world.env())
    return clone


def upload_logs(world: World, tmp_path: Path, name: str, **simulation: object) -> str:
    """Write synthetic logs and put them in the bucket; return their URL."""
    folder = tmp_path / name
    write_logs(folder, **simulation)
    s3 = s3_client(world.aws_env["AWS_ENDPOINT_URL_S3"])
    for path in folder.iterdir():
        s3.upload_file(str(path), BUCKET, f"serving-logs/{name}/{path.name}")
    return f"s3://{BUCKET}/serving-logs/{name}"


def posted(state: Path) -> dict:
    (comment,) = json.loads(state.read_text())["comments"]
    return comment


def test_a_shadow_winner_is_promoted_in_the_production_job(in_prod: World, tmp_path: Path) -> None:
    # A shadow's log holds both versions' scores of the same users, so the report needs no model files here.
    start_rollout(in_prod, {"mode": "shadow", "min_outcomes": 200}, "v0.2.0", "shadow")
    logs = upload_logs(in_prod, tmp_path, "shadow", mode="shadow", users=1200, prod=PROD, candidate=Arm("v0.2.0", 1.8))
    before = set(remote_tags(in_prod.origin))
    jobs, comments = in_prod.dispatch_rollout(logs, ISSUE)
    assert jobs["report"].passed, jobs["report"].report()
    assert jobs["report"].outputs["decision"] == "promote"
    assert jobs["widen-or-roll-back"].skipped
    assert jobs["promote"].passed, jobs["promote"].report()
    new = sorted(set(remote_tags(in_prod.origin)) - before)
    assert [tag.split("#")[1] for tag in new] == ["prod", "shadow!"]
    assert posted(comments)["body"].startswith("## Rollout report: ✅ promote the candidate")
    assert posted(comments)["images"] == ["scores.png", "latency.png"]


def test_a_failing_canary_is_rolled_back(in_prod: World, tmp_path: Path) -> None:
    start_rollout(in_prod, {"mode": "canary", "percent": 10, "max_error_rate": 0.01}, "v0.3.0", "canary")
    failing = Arm("v0.3.0", signal=1.0, error_rate=0.2)
    logs = upload_logs(in_prod, tmp_path, "canary", mode="canary", users=400, prod=PROD, candidate=failing, share=0.1)
    before = set(remote_tags(in_prod.origin))
    jobs, comments = in_prod.dispatch_rollout(logs, ISSUE)
    assert jobs["report"].outputs["decision"] == "rollback", jobs["report"].report()
    assert jobs["widen-or-roll-back"].passed, jobs["widen-or-roll-back"].report()
    assert jobs["promote"].skipped
    (tag,) = sorted(set(remote_tags(in_prod.origin)) - before)
    assert tag.startswith("model#canary!#")
    assert "failed" in posted(comments)["body"]


def test_a_shadow_without_enough_outcomes_waits_and_changes_nothing(in_prod: World, tmp_path: Path) -> None:
    start_rollout(in_prod, {"mode": "shadow", "min_outcomes": 500}, "v0.4.0", "shadow")
    logs = upload_logs(
        in_prod, tmp_path, "shadow", mode="shadow", users=300, prod=PROD, candidate=Arm("v0.4.0"), outcomes=0.5
    )
    before = remote_tags(in_prod.origin)
    jobs, comments = in_prod.dispatch_rollout(logs, ISSUE)
    assert jobs["report"].passed, jobs["report"].report()
    assert jobs["report"].outputs["decision"] == "wait"
    assert jobs["widen-or-roll-back"].skipped
    assert jobs["promote"].skipped
    assert remote_tags(in_prod.origin) == before
    assert "of the 500 users with an outcome needed" in posted(comments)["body"]
