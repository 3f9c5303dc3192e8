"""The retrain workflow's own steps: a registry publishes a version, and the consumer's retrain opens one PR.

One world for the module: main trains on `loans` v1.0.0 from a registry project (both in the moto S3
bucket). The registry publishes v1.1.0 and sends `repository_dispatch`; retrain.yml's job runs
`lockstep retrain` with the GitHub App token stand-in and opens the pull request. GitHub starts a
pull request's checks when an App opened it (not with GITHUB_TOKEN), so model-review.yml then runs
on it, as it would there, and its gate passes. Run with `pytest -m workflow tests/workflows/test_retrain.py`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lockstep.data.synthetic import generate_credit_data

from tests.conftest import Project, copy_project
from tests.s3 import BUCKET
from tests.workflows.conftest import World
from tests.workflows.harness import APP_TOKEN

DATA = "data/source/loans.csv"
APP = ({"RETRAIN_APP_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----stand-in"}, {"RETRAIN_APP_CLIENT_ID": "Iv23stand"})


def publish(registry: Project, world: World, rows: int, message: str, *args: str) -> None:
    generate_credit_data(rows, 7).to_csv(registry.root / DATA, index=False)
    registry.run("dvc", "add", "-q", DATA, env=world.env())
    registry.run("git", "add", f"{DATA}.dvc", "data/source/.gitignore")
    registry.run("git", "commit", "-q", "-m", message)
    registry.run("lockstep", "data", "publish", "loans", "--path", DATA, "--push", *args, env=world.env())


@pytest.fixture(scope="module")
def consumer(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[World, Project]:
    """The world with main trained on loans v1.0.0 (20,000 rows) from a registry; returns the registry too."""
    registry = copy_project(tmp_path_factory.mktemp("registry"))
    prefix = tmp_path_factory.mktemp("registry-remote").name
    registry.run("dvc", "remote", "add", "--force", "--default", "s3", f"s3://{BUCKET}/{prefix}", env=world.env())
    registry.commit_all("Keep the data in S3")
    publish(registry, world, 20_000, "Loans", "--version", "1.0.0")
    clone = world.clone("main")
    clone.run("lockstep", "data", "use", str(registry.origin), "loans@1.0.0", env=world.env())
    clone.run("dvc", "repro", env=world.env())
    clone.run("lockstep", "data", "golden", env=world.env())  # v1.0.0's test set, frozen
    clone.run("dvc", "push", env=world.env())
    clone.run("git", "add", "-A")
    clone.run("git", "commit", "-q", "-m", "Train on loans v1.0.0, with a golden holdout")
    clone.run("git", "push", "-q", "origin", "main", env=world.env())
    return world, registry


def test_a_published_version_opens_a_pr_whose_review_passes_the_gate(consumer: tuple[World, Project]) -> None:
    world, registry = consumer
    gh_state = world.runs_dir / "retrain-gh.json"
    # The same 20,000 rows first (the generator's first N rows do not depend on N), then 2,000 new ones.
    publish(registry, world, 22_000, "Loans: 2,000 more")
    event = {"action": "dataset-published", "client_payload": {"reason": "loans v1.1.0 was published"}}
    jobs = world.retrain("repository_dispatch", event, *APP, gh_state=gh_state)
    assert jobs["retrain"].passed, jobs["retrain"].report()
    assert "retrain: opened" in jobs["retrain"].step("Retrain, and open or update the pull request").output
    [pull] = json.loads(gh_state.read_text())["pulls"]
    assert pull["token"] == APP_TOKEN  # the App's token: GitHub starts this pull request's checks
    assert not pull["draft"]
    assert pull["body"].startswith("**Why this retrain:** dataset — loans v1.1.0 was published")

    head = subprocess.run(
        ["git", "rev-parse", "retrain/auto"], cwd=world.origin, capture_output=True, text=True, check=True
    ).stdout.strip()
    review = world.pull_request("retrain/auto", head, number=pull["number"])["review"]
    assert review.passed, review.report()
    comment = json.loads(world.comments(pull["number"]).read_text())
    report = json.dumps(comment, ensure_ascii=False)
    assert "Why this retrain:** dataset" in report
    assert "v1.0.0 → **v1.1.0**" in report
    assert "20,000 → 22,000: 2,000 added, 0 removed" in report
    assert "the base model was scored again on this revision" in report
    assert "### Golden holdout" in report
    assert "Both models on the frozen holdout (4,000 rows" in report


def test_without_an_app_the_pr_opens_as_a_draft(consumer: tuple[World, Project], tmp_path: Path) -> None:
    world, registry = consumer
    publish(registry, world, 22_500, "Loans: 500 more")
    gh_state = tmp_path / "gh.json"  # a repository without the App: its own record of pull requests
    jobs = world.retrain("workflow_dispatch", {"inputs": {"reason": "by hand"}}, {}, {}, gh_state=gh_state)
    assert jobs["retrain"].passed, jobs["retrain"].report()
    [pull] = json.loads(gh_state.read_text())["pulls"]
    assert pull["draft"]
    assert pull["token"] == "ghs_harness"  # GITHUB_TOKEN: no workflow starts until a person marks it ready
