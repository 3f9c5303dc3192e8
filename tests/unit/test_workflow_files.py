"""Static checks of the workflow files, and of the harness that runs them (tests/workflows): fast, so `make test` runs them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PACKAGE, REPO_ROOT
from tests.workflows.expressions import HarnessError, condition, evaluate, substitute
from tests.workflows.harness import check_executable, load_workflow

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"uses: (?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<tag>v[\w.]+)$")
# The commit each release tag points to, read from the action's own repository
# (`git ls-remote https://github.com/<action> refs/tags/<tag>^{}` for an annotated tag).
# A pin moves by adding its row here, so its version comment cannot drift from the commit.
RELEASES = {
    ("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683"): "v4.2.2",
    ("actions/create-github-app-token", "1b10c78c7865c340bc4f6099eb2f838309f1e8c3"): "v3.1.1",
    ("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065"): "v5.6.0",
    ("actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02"): "v4.6.2",
    ("aws-actions/configure-aws-credentials", "e3dd6a429d7300a6a4c196c26e071d42e0343502"): "v4.0.2",
    ("iterative/setup-cml", "f12ea7685438c1fc438d50f77519b3860cf5fa98"): "v2.0.1",
}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_step_is_something_the_harness_can_run(path: Path) -> None:
    check_executable(load_workflow(path))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_hardening(path: Path) -> None:
    workflow = load_workflow(path)
    assert workflow["permissions"] == {}
    text = path.read_text()
    for line in text.splitlines():
        if "uses:" in line and "uses: ./" not in line:
            pin = PINNED.search(line)
            assert pin, f"not pinned by SHA with a version comment: {line.strip()}"
            release = RELEASES.get((pin["action"], pin["sha"]))
            assert release, f"{pin['action']}@{pin['sha']} is no release commit we know: add its tag to RELEASES"
            assert pin["tag"] == release, f"{pin['action']}@{pin['sha'][:12]} is {release}, not {pin['tag']}"
    for job in workflow["jobs"].values():
        assert "permissions" in job
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            if "run" in step:
                assert "${{" not in step["run"]


def test_the_pr_workflow_cancels_superseded_runs_and_grants_write_only_for_the_comment() -> None:
    workflow = load_workflow(REPO_ROOT / ".github" / "workflows" / "model-review.yml")
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "pull_request.number" in workflow["concurrency"]["group"]
    assert workflow["jobs"]["review"]["permissions"]["pull-requests"] == "write"
    steps = [step.get("name") for step in workflow["jobs"]["review"]["steps"]]
    assert steps.index("Post the sticky comment") < steps.index("Gate"), "the gate must run after the report is posted"


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"name": "x", "run": "echo ${{ github.head_ref }}"}, "inside run:"),
        ({"name": "x", "run": "Get-ChildItem", "shell": "pwsh"}, "only plain bash"),
        (
            {"name": "x", "uses": "someone/deploy-action@0123456789abcdef0123456789abcdef01234567"},
            "no local equivalent",
        ),
    ],
)
def test_the_harness_refuses_steps_it_cannot_run(step: dict, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        check_executable({"jobs": {"job": {"steps": [step]}}})


CONTEXT = {
    "github": {
        "event": {"pull_request": {"head": {"repo": {"full_name": "Acme/X"}}}},
        "repository": "acme/x",
        "base_ref": "main",
    },
    "vars": {"AWS_ROLE_ARN": ""},
    "env": {"SAME_REPO": "true"},
    "inputs": {"version": "v0.1.0"},
}


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("github.event.pull_request.head.repo.full_name == github.repository", True),  # case-insensitive
        ("vars.AWS_ROLE_ARN != ''", False),
        ("env.SAME_REPO == 'true' && vars.AWS_ROLE_ARN != ''", False),
        ("!(env.SAME_REPO == 'true') || github.base_ref == 'main'", True),
        ("vars.MISSING == ''", True),
    ],
)
def test_expressions(expression: str, value: bool) -> None:
    assert evaluate(expression, CONTEXT) is value


def test_templates_and_conditions() -> None:
    assert substitute("refs/tags/model@${{ inputs.version }}", CONTEXT) == "refs/tags/model@v0.1.0"
    assert condition(None, CONTEXT, "failure") is False
    assert condition("${{ always() }}", CONTEXT, "failure") is True
    with pytest.raises(HarnessError, match="unknown context"):
        evaluate("matrix.python", CONTEXT)
    with pytest.raises(HarnessError, match="cannot parse"):
        evaluate("contains(github.ref, 'main')", CONTEXT)
    with pytest.raises(HarnessError, match="not supported"):
        evaluate("cancelled()", CONTEXT)


def make_dry_run(*args: str) -> str:
    """The commands `make` would run from the repository root (nothing is executed)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-n", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    ("remote", "notice"),
    [
        ("fork", "Pull request from a fork: it gets no access to the DVC remote"),
        ("none", "No DVC remote for CI (the AWS_ROLE_ARN variable is not set)"),
    ],
)
def test_only_a_fork_or_a_repository_without_a_remote_skips_the_pull(remote: str, notice: str) -> None:
    skipped = make_dry_run("ci-repro", f"CI_REMOTE={remote}")
    assert notice in skipped
    assert "dvc pull" not in skipped
    assert "dvc repro\n" in skipped
    pulled = make_dry_run("ci-repro")
    assert "dvc pull --run-cache --allow-missing\n" in pulled
    assert "dvc repro --pull\n" in pulled
    assert "::notice::" not in pulled
    assert "--allow-missing" not in pulled.split("dvc repro")[-1]  # repro never skips a missing output


def test_without_a_remote_nothing_is_registered() -> None:
    assert "registry register" not in make_dry_run("ci-register", "CI_REMOTE=none", "STAGE=staging")
    assert "registry register" in make_dry_run("ci-register", "STAGE=staging")


def test_the_report_and_a_local_gate_are_told_when_the_pipeline_did_not_reproduce() -> None:
    for target in ("report", "gate"):
        assert "--not-reproduced" in make_dry_run(target, "REPRODUCE=failure")
        assert "--not-reproduced" not in make_dry_run(target, "REPRODUCE=success")


def test_ci_gates_on_the_verdict_the_report_wrote() -> None:
    review = load_workflow(REPO_ROOT / ".github" / "workflows" / "model-review.yml")["jobs"]["review"]
    steps = {step.get("name"): step for step in review["steps"]}
    assert steps["Write the report"]["env"]["REPRODUCE"] == "${{ steps.reproduce.outcome }}"
    assert steps["Gate"]["run"] == "make ci-gate"
    gate = make_dry_run("ci-gate").replace('"', "")
    assert f"{PACKAGE} gate --verdict reports/verdict.json" in gate


def test_only_the_promotion_waits_for_the_production_environment() -> None:
    jobs = load_workflow(REPO_ROOT / ".github" / "workflows" / "rollout.yml")["jobs"]
    steps = jobs["report"]["steps"]
    after_status = steps[[step.get("id") for step in steps].index("status") + 1 :]
    assert all("steps.status.outputs.mode != 'none'" in step["if"] for step in after_status)
    assert jobs["promote"]["environment"] == "production"
    assert "environment" not in jobs["widen-or-roll-back"]
    assert set(load_workflow(REPO_ROOT / ".github" / "workflows" / "rollout.yml")["on"]) == {
        "schedule",
        "workflow_dispatch",
    }
