"""Static checks of the workflow files, and of the harness that runs them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.workflows.expressions import HarnessError, condition, evaluate, substitute
from tests.workflows.harness import check_executable, load_workflow

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d")


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
            assert PINNED.search(line), f"not pinned by SHA with a version comment: {line.strip()}"
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
