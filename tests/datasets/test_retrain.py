"""`retrain` with real Git, DVC and S3: a new dataset version opens one pull request, a second trigger updates it,
a merged one starts a cooldown, and a schedule with no new data opens nothing.

GitHub's API is the one part faked: the recording `gh` stand-in of the workflow harness, which keeps
the pull requests (and the token that opened each) in a JSON file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import PACKAGE, VENV_BIN, Project
from tests.datasets.world import DATA, ENV, World, clone, command, loans, make_world, publish_csv
from tests.workflows.harness import GH_STAND_IN

APP_TOKEN = "ghs_app_installation_token"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> World:
    return make_world(tmp_path_factory, s3_endpoint, "retrain-test")


def gh_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose `gh` is the recording stand-in, with a GitHub App's token."""
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(f'#!/usr/bin/env bash\nexec {VENV_BIN / "python"} {GH_STAND_IN} "$@"\n')
    (bin_dir / "gh").chmod(0o755)
    return ENV | {
        "PATH": f"{bin_dir}:{ENV['PATH']}",
        "GH_TOKEN": APP_TOKEN,
        "GH_STAND_IN_STATE": str(tmp_path / "gh-state.json"),
    }


def retrain(checkout: Project, env: dict[str, str], world: World, *args: str) -> str:
    done = checkout.run(PACKAGE, "retrain", *args, *world.source_config, env=env)
    return done.stdout


def pulls(env: dict[str, str]) -> list[dict]:
    return json.loads(Path(env["GH_STAND_IN_STATE"]).read_text())["pulls"]


def test_one_pull_request_per_retrain_updated_by_the_next_trigger(world: World, tmp_path: Path) -> None:
    env = gh_on_path(tmp_path)
    checkout = clone(world.consumer, tmp_path / "runner", world.endpoint)  # what a workflow's checkout holds

    publish_csv(world.registry, loans(3400), "Loans: 400 more")  # v1.1.0
    out = retrain(checkout, env, world, "--trigger", "dataset", "--reason", "the registry published loans v1.1.0")
    assert "retrain: opened" in out, out
    [pull] = pulls(env)
    assert (pull["head"], pull["base"], pull["state"], pull["draft"]) == ("retrain/auto", "main", "open", False)
    assert pull["token"] == APP_TOKEN  # a GitHub App's token: GitHub starts the pull request's checks
    assert pull["body"].startswith("**Why this retrain:** dataset — the registry published loans v1.1.0")
    assert "dataset `loans`: v1.0.0 → v1.1.0" in pull["body"]
    branch = world.consumer.run("git", "--git-dir", str(world.consumer.origin), "log", "--oneline", "retrain/auto")
    assert "Retrain: dataset (loans@v1.1.0)" in branch.stdout

    # A second trigger while it is open: the same pull request, updated to the newest data and the new reason.
    publish_csv(world.registry, loans(3500), "Loans: 100 more")  # v1.2.0
    evidence = tmp_path / "alerts.txt"
    evidence.write_text("feature drift: fired on `annual_income` in 3 of the last 3 windows\n")
    out = retrain(
        checkout, env, world, "--trigger", "alert", "--reason", "the monitor alerted", "--evidence", str(evidence)
    )
    assert "retrain: updated" in out, out
    [pull] = pulls(env)
    assert pull["edits"] == 1
    assert "**Why this retrain:** alert — the monitor alerted" in pull["body"]
    assert "- feature drift: fired on `annual_income`" in pull["body"]
    assert "v1.0.0 → v1.2.0" in pull["body"]

    # The review's report on the pull request opens with the trigger.
    review = clone(world.consumer, tmp_path / "review", world.endpoint)
    review.run("git", "checkout", "-q", "retrain/auto")
    review.run("dvc", "pull", "-q", env=ENV)
    command(review, "report", "--base", "origin/main", "--out", "reports")
    report = review.read("reports/report.md")
    assert report.splitlines()[2] == "**Why this retrain:** alert — the monitor alerted", report
    assert yaml.safe_load(review.read(f"{DATA}.dvc"))["meta"]["dataset"]["version"] == "v1.2.0"

    # Merged: the branch lands on main, and the pull request closes.
    world.consumer.run("git", "--git-dir", str(world.consumer.origin), "update-ref", "refs/heads/main", "retrain/auto")
    closed_at = datetime.now(UTC)
    state = json.loads(Path(env["GH_STAND_IN_STATE"]).read_text())
    state["pulls"][0] |= {"state": "closed", "closedAt": closed_at.isoformat().replace("+00:00", "Z")}
    Path(env["GH_STAND_IN_STATE"]).write_text(json.dumps(state))
    checkout.run("git", "fetch", "-q", "origin")
    checkout.run("git", "checkout", "-q", "--detach", "origin/main")

    publish_csv(world.registry, loans(3600), "Loans: 100 more again")  # v1.3.0, during the cooldown
    out = retrain(checkout, env, world, "--trigger", "schedule", "--reason", "the weekly retrain")
    assert "retrain: cooldown" in out, out
    assert len(pulls(env)) == 1

    # After the cooldown, a schedule with no new data opens nothing: a retrain would give the same model.
    state["pulls"][0]["closedAt"] = (closed_at - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    Path(env["GH_STAND_IN_STATE"]).write_text(json.dumps(state))
    world.registry.run("git", "tag", "-d", "loans@v1.3.0")  # as if v1.3.0 had never been published
    world.registry.run("git", "push", "-q", "origin", ":refs/tags/loans@v1.3.0")
    out = retrain(checkout, env, world, "--trigger", "schedule", "--reason", "the weekly retrain")
    assert "retrain: nothing: no new data" in out, out
    assert len(pulls(env)) == 1
    assert checkout.git_status() == ""

    # A push to main that changed data/source without reproducing: the pipeline is stale, so a retrain opens.
    (checkout.root / "data/source/README.md").write_text("The loans dataset, pinned from the registry.\n")
    checkout.run("git", "commit", "-q", "-am", "Say what data/source holds")
    checkout.run("git", "push", "-q", "origin", "HEAD:main")
    out = retrain(checkout, env, world, "--trigger", "push", "--reason", "a push to main changed data/source")
    assert "retrain: opened: Retrain: push (changed data)" in out, out
    assert "the base's data changed without a new model: evaluate, ingest re-run" in pulls(env)[-1]["body"]
