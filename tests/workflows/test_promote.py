"""The merge workflow: reproduce from the remote, push, register, stage, deploy.

The scenarios after the first two follow one model from its pull request's
comment to the deploy bundle by hash: what the reviewer saw is what main's
dvc.lock names after the merge, what the registered version points to, and
what the bundle holds.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import Project
from tests.workflows.conftest import World, make_world
from tests.workflows.test_model_review import FIX_STALE, comments, reported_md5


def remote_tags(origin: Path) -> list[str]:
    listed = subprocess.run(["git", "ls-remote", "--tags", str(origin)], capture_output=True, text=True, check=True)
    return sorted(line.split("refs/tags/")[1] for line in listed.stdout.splitlines() if not line.endswith("^{}"))


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str, reproduced_template: Project) -> World:
    root, prefix = tmp_path_factory.mktemp("merged"), tmp_path_factory.mktemp("m").name
    return make_world(root, s3_endpoint, prefix, start_from=reproduced_template)


def test_merge_registers_stages_and_deploys_once(merged: World) -> None:
    results = merged.push_to_main()
    register, deploy = results["register"], results["deploy-staging"]
    assert register.passed, register.report()
    assert "Running stage" not in register.step("Reproduce").output
    version = register.outputs["version"]
    tags = remote_tags(merged.origin)
    assert {f"model@{version}", "model#staging#1"} <= set(tags)

    assert deploy.passed, deploy.report()
    manifest = json.loads((merged.latest_bundle("staging") / "manifest.json").read_text())
    assert (manifest["version"], manifest["stage"]) == (version, "staging")
    assert (merged.latest_bundle("staging") / "model.skops").is_file()

    again = merged.push_to_main()
    assert again["register"].passed, again["register"].report()
    assert "already registered" in again["register"].step("Register the version and assign staging").output
    assert remote_tags(merged.origin) == tags
    assert again["deploy-staging"].passed


def test_prod_is_assigned_by_hand_and_deployed_in_the_same_run(merged: World) -> None:
    merged.push_to_main()  # idempotent: v0.1.0 is in staging whichever test ran first
    results = merged.dispatch_prod("v0.1.0")
    assert results["assign"].passed, results["assign"].report()
    prod_tags = [tag for tag in remote_tags(merged.origin) if tag.startswith("model#prod#")]
    assert len(prod_tags) == 1  # GTO numbers assignments across stages: model#prod#2
    assert results["deploy-prod"].passed, results["deploy-prod"].report()
    assert json.loads((merged.latest_bundle("prod") / "manifest.json").read_text())["stage"] == "prod"
    again = merged.dispatch_prod("v0.1.0")
    assert "already assigned" in again["assign"].step("Assign prod").output
    assert [tag for tag in remote_tags(merged.origin) if tag.startswith("model#prod#")] == prod_tags


def test_batch_predict_scores_the_test_set_with_the_prod_model_and_keeps_the_scores(merged: World) -> None:
    if not any(tag.startswith("model#prod#") for tag in remote_tags(merged.origin)):  # run alone: put v0.1.0 in prod
        merged.push_to_main()
        assert merged.dispatch_prod("v0.1.0")["assign"].passed
    job = merged.dispatch("batch-predict.yml", {"input": ""})["score"]
    assert job.passed, job.report()
    test_rows = len(pd.read_parquet(merged.main.root / "data/prepared/test.parquet"))
    assert f"{test_rows:,} of {test_rows:,} rows scored with v0.1.0" in job.step("Score with the prod model").output
    scores = pd.read_parquet(merged.latest_artifact("batch-predictions") / "predictions.parquet")
    assert len(scores) == test_rows
    assert set(scores["model_version"]) == {"v0.1.0"}
    prod_model = merged.latest_bundle("prod") / "model.skops"
    assert set(scores["model_sha256"]) == {hashlib.sha256(prod_model.read_bytes()).hexdigest()}
    assert scores["score"].between(0, 1).all()
    assert (merged.latest_artifact("batch-predictions") / "rejects.parquet").is_file()


def versions(origin: Path) -> list[str]:
    return [tag.removeprefix("model@") for tag in remote_tags(origin) if tag.startswith("model@")]


def promote_and_follow(world: World, reviewed: str) -> str:
    """Promote main's head; check that main's lock, the new version and the bundle hold the `reviewed` bytes."""
    before = versions(world.origin)
    results = world.push_to_main()
    register, deploy = results["register"], results["deploy-staging"]
    assert register.passed, register.report()
    assert deploy.passed, deploy.report()
    version = register.outputs["version"]
    assert version not in before
    assert versions(world.origin) == sorted([*before, version])
    assert world.locked_model_md5("main") == reviewed
    assert world.locked_model_md5(f"model@{version}") == reviewed
    manifest = json.loads((world.latest_bundle("staging") / "manifest.json").read_text())
    assert (manifest["version"], manifest["model"]["md5"]) == (version, reviewed)
    return version


def test_a_params_only_pr_is_told_to_reproduce_then_merged_registered_and_shipped(merged: World) -> None:
    sha = merged.open_pr("cheaper-l2", ["model.C=0.5"])
    first = merged.pull_request("cheaper-l2", sha, number=11)["review"]
    assert first.failed_step == "Gate"
    assert FIX_STALE in first.step("Gate").output
    reviewed = reported_md5(comments(merged, 11)[0]["body"])
    assert reviewed != merged.locked_model_md5("cheaper-l2")  # the PR's lock is main's

    sha = merged.open_pr("cheaper-l2", [], base="cheaper-l2", reproduce=True)  # the one command, then commit
    second = merged.pull_request("cheaper-l2", sha, number=11)["review"]
    assert second.passed, second.report()
    assert "Running stage" not in second.step("Reproduce what changed").output  # the first run pushed them
    (comment,) = comments(merged, 11)
    assert comment["body"].startswith("## Model report: ✅")
    assert reported_md5(comment["body"]) == reviewed

    merged.merge("cheaper-l2")
    promote_and_follow(merged, reviewed)


def test_a_lock_reproduced_by_a_contributor_without_remote_access_is_shipped(merged: World) -> None:
    sha = merged.open_pr("weaker-l2", ["model.C=2.0"], reproduce=True)
    job = merged.pull_request("weaker-l2", sha, number=12)["review"]
    assert job.passed, job.report()
    assert "Running stage 'train'" in job.step("Reproduce what changed").output  # the remote did not have it
    reviewed = reported_md5(comments(merged, 12)[0]["body"])
    assert reviewed == merged.locked_model_md5("weaker-l2")

    merged.merge("weaker-l2")
    promote_and_follow(merged, reviewed)


def test_a_docs_only_merge_gets_no_new_version(merged: World) -> None:
    if not any(tag.startswith("model@") for tag in remote_tags(merged.origin)):
        merged.push_to_main()  # run alone: register main's model first
    tags, shipped = remote_tags(merged.origin), merged.locked_model_md5("main")

    def edit_docs(clone: Project) -> None:
        readme = clone.root / "README.md"
        readme.write_text(readme.read_text() + "\nA note for new contributors.\n")

    merged.open_pr("docs", [], edit=edit_docs)
    merged.merge("docs")
    results = merged.push_to_main()
    register = results["register"]
    assert register.passed, register.report()
    assert "unchanged: already registered" in register.step("Register the version and assign staging").output
    assert remote_tags(merged.origin) == tags
    version = register.outputs["version"]
    assert merged.locked_model_md5(f"model@{version}") == shipped
    assert results["deploy-staging"].passed, results["deploy-staging"].report()
    manifest = json.loads((merged.latest_bundle("staging") / "manifest.json").read_text())
    assert (manifest["version"], manifest["model"]["md5"]) == (version, shipped)
