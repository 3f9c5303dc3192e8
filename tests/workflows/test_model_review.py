"""The pull-request workflow, run step by step against a simulated pull request."""

from __future__ import annotations

import json
import re

import pytest

from lockstep.review.committed import NOT_REPRODUCED

from tests.conftest import Project
from tests.workflows.conftest import World, make_world

FIX_STALE = "run `make repro`, then commit dvc.lock and metrics/"


def comments(world: World, number: int) -> list[dict]:
    return json.loads(world.comments(number).read_text())["comments"]


def reported_md5(body: str) -> str | None:
    """The md5 of this revision's model, as the report states it."""
    found = re.search(r"Model `models/model.skops` of this revision: (?:md5 `([0-9a-f]{32})`|none);", body)
    assert found, body[:600]
    return found.group(1)


def main_metric(world: World, name: str) -> float:
    return json.loads(world.main.read("metrics/metrics.json"))[name]


def test_a_better_model_gets_one_sticky_comment_and_passes(world: World) -> None:
    sha = world.open_pr("boosting", ["model=hist_gradient_boosting"], reproduce=True)
    job = world.pull_request("boosting", sha, number=1)["review"]
    assert job.passed, job.report()
    reproduce = job.step("Reproduce what changed").output
    assert "Running stage 'train'" in reproduce
    assert "Running stage 'ingest'" not in reproduce

    (comment,) = comments(world, 1)
    body = comment["body"]
    assert body.startswith("## Model report: ✅ the gate passes")
    base_auc = main_metric(world, "roc_auc")
    row = next(line for line in body.splitlines() if line.startswith("| ★ roc_auc |"))
    _, _, base_cell, new_cell, change_cell, _ = (cell.strip() for cell in row.split("|"))
    assert float(base_cell) == pytest.approx(base_auc, abs=1e-4)
    assert float(change_cell) == pytest.approx(float(new_cell) - base_auc, abs=2e-4)
    assert float(change_cell) > 0
    assert (
        "| `model._target_` | `sklearn.linear_model.LogisticRegression` | `sklearn.ensemble.HistGradientBoostingClassifier` |"
        in body
    )
    assert "95% confidence interval" in body
    assert set(comment["images"]) >= {"roc.png", "precision_recall.png", "confusion_matrix.png"}
    assert "gate: PASS" in job.step("Gate").output
    assert reported_md5(body) == world.locked_model_md5("boosting")

    # A second push changes params without reproducing: the same comment now says what to run.
    sha = world.open_pr("boosting", ["model=hist_gradient_boosting", "model.learning_rate=0.1"], base="boosting")
    assert world.pull_request("boosting", sha, number=1)["review"].failed_step == "Gate"
    (comment,) = comments(world, 1)  # still one comment, edited in place
    assert comment["updates"] == 1
    assert "`model.learning_rate` | – | `0.1`" in comment["body"]
    assert FIX_STALE in comment["body"]


def test_rerunning_the_same_commit_executes_no_stage(world: World) -> None:
    sha = world.open_pr("stronger-l2", ["model.C=0.3"], reproduce=True)
    first = world.pull_request("stronger-l2", sha, number=2)["review"]
    assert "Running stage 'train'" in first.step("Reproduce what changed").output
    again = world.pull_request("stronger-l2", sha, number=2)["review"]
    assert again.passed
    assert "Running stage" not in again.step("Reproduce what changed").output


def test_a_pr_that_changes_nothing_in_the_pipeline_executes_no_stage(world: World) -> None:
    sha = world.open_pr("docs-only", [])
    job = world.pull_request("docs-only", sha, number=3)["review"]
    assert job.passed
    assert "Running stage" not in job.step("Reproduce what changed").output
    assert "No params changed." in comments(world, 3)[0]["body"]


def test_a_clearly_worse_model_is_reported_then_blocked(world: World) -> None:
    sha = world.open_pr("stump", ["model=random_forest", "model.n_estimators=3", "model.max_depth=1"])
    job = world.pull_request("stump", sha, number=4)["review"]
    assert job.step("Post the sticky comment").exit_code == 0
    assert job.failed_step == "Gate"
    (comment,) = comments(world, 4)
    assert comment["body"].startswith("## Model report: ❌ the gate fails")
    gate = job.step("Gate").output
    assert "misses the threshold" in gate or "excludes 0" in gate
    assert "gate: FAIL" in gate


def test_a_fork_pr_gets_the_report_in_the_summary_and_the_same_gate(world: World) -> None:
    sha = world.open_pr("fork-boosting", ["model=hist_gradient_boosting"], reproduce=True)
    job = world.pull_request("fork-boosting", sha, number=5, fork=True)["review"]
    assert job.passed, job.report()
    reproduce = job.step("Reproduce what changed").output
    assert "Pull request from a fork: it gets no access to the DVC remote" in reproduce
    assert "dvc pull" not in reproduce
    assert not job.step("Configure AWS credentials (OIDC)").ran
    assert not job.step("Post the sticky comment").ran
    assert not job.step("Share the run-cache").ran
    summary = job.step("Report to the job summary (fork)")
    assert "Pull request from a fork" in summary.output
    assert not world.comments(5).exists()
    assert "gate: PASS" in job.step("Gate").output


@pytest.fixture(scope="module")
def modelless(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> World:
    """A main branch with the pipeline but no model yet: no metrics, no lock.

    Its jobs link no prebuilt environment: their `make install` runs a real `uv sync` from uv.lock.
    """
    world = make_world(
        tmp_path_factory.mktemp("first"), s3_endpoint, prefix=tmp_path_factory.mktemp("f").name, reproduce=False
    )
    main = world.main
    main.run(
        "git",
        "rm",
        "-q",
        "dvc.lock",
        "metrics/metrics.json",
        "metrics/data.json",
    )
    main.run("git", "rm", "-q", "-r", "metrics/plots")
    main.commit_all("Start without a model")
    main.run("git", "push", "-q", "origin", "main")
    return world


def test_the_first_model_passes_on_the_threshold_alone(modelless: World) -> None:
    sha = modelless.open_pr("first-model", [], reproduce=True)
    job = modelless.pull_request("first-model", sha, number=1)["review"]
    assert job.passed, job.report()
    assert "Installed" in job.step("Set up the environment").output  # uv synced .venv from uv.lock
    assert "Running stage 'ingest'" in job.step("Reproduce what changed").output
    (comment,) = comments(modelless, 1)
    assert "the base has no model to compare with: judged on the threshold alone" in comment["body"]
    assert "| ★ roc_auc | – |" in comment["body"]


def test_a_stale_lock_fails_with_the_command_and_a_report_of_the_reproduced_model(world: World) -> None:
    world.open_pr("stale-lock", ["model.C=0.5"], reproduce=True)
    sha = world.open_pr("stale-lock", ["model.C=0.25"], base="stale-lock")  # params changed, lock not
    job = world.pull_request("stale-lock", sha, number=6)["review"]
    assert job.failed_step == "Gate", job.report()
    assert job.step("Post the sticky comment").exit_code == 0
    (comment,) = comments(world, 6)
    assert comment["body"].startswith("## Model report: ❌ the gate fails")
    assert "(after reproducing, dvc.lock, metrics/metrics.json" in comment["body"]
    assert FIX_STALE in job.step("Gate").output
    reviewed = reported_md5(comment["body"])
    assert reviewed != world.locked_model_md5("stale-lock")  # the report shows C=0.25, not the committed lock

    # The one command gives exactly the bytes the reviewer saw, so committing its lock passes.
    contributor = world.clone("stale-lock", start="stale-lock")
    contributor.run("dvc", "cache", "dir", "--local", str(world.main.root / ".dvc" / "cache"))
    contributor.run("dvc", "repro")
    assert " M dvc.lock" in contributor.git_status()
    assert f"md5: {reviewed}" in contributor.read("dvc.lock")


def forge_metrics(clone: Project) -> None:
    metrics = json.loads(clone.read("metrics/metrics.json"))
    metrics["roc_auc"] = 0.99
    (clone.root / "metrics" / "metrics.json").write_text(json.dumps(metrics, indent=4, sort_keys=True) + "\n")


def test_forged_metrics_next_to_a_committed_lock_fail_the_gate_with_the_reason(world: World) -> None:
    sha = world.open_pr("forged", [], reproduce=True, edit=forge_metrics)
    job = world.pull_request("forged", sha, number=7)["review"]
    assert job.failed_step == "Gate", job.report()
    (comment,) = comments(world, 7)
    true_auc = main_metric(world, "roc_auc")
    reason = f"the committed metrics/metrics.json says roc_auc = 0.99, but reproducing this commit gives {true_auc}"
    assert reason in job.step("Gate").output
    assert reason in comment["body"]
    row = next(line for line in comment["body"].splitlines() if line.startswith("| ★ roc_auc |"))
    assert f"| {true_auc:.4f} |" in row
    assert "0.99" not in row
    assert reported_md5(comment["body"]) == world.locked_model_md5("forged")


def test_an_unreachable_remote_fails_the_pull_with_dvc_s_error_and_still_reports(world: World) -> None:
    sha = world.open_pr("remote-down", [])
    job = world.pull_request("remote-down", sha, number=8, remote_down=True)["review"]
    assert job.failed_step == "Reproduce what changed"
    reproduce = job.step("Reproduce what changed").output
    assert "ERROR: unexpected error - Could not connect to the endpoint URL" in reproduce
    assert "from scratch" not in reproduce
    assert "Running stage" not in reproduce
    assert not job.step("Share the run-cache").ran
    assert job.step("Post the sticky comment").exit_code == 0
    gate = job.step("Gate")
    assert gate.exit_code != 0
    assert NOT_REPRODUCED in gate.output
    assert "gate: FAIL" in gate.output
    (comment,) = comments(world, 8)
    assert comment["body"].startswith("## Model report: ❌ the gate fails")
    assert NOT_REPRODUCED in comment["body"]
    assert reported_md5(comment["body"]) is None  # nothing of this revision was checked, so nothing is shown
