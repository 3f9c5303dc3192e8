"""The merge workflow: reproduce from the run-cache, push, register, stage, deploy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.workflows.conftest import World, make_world

pytestmark = pytest.mark.integration


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
    assert register.outputs["version"] == "v0.1.0"
    assert remote_tags(merged.origin) == ["model#staging#1", "model@v0.1.0"]

    assert deploy.passed, deploy.report()
    bundles = sorted((merged.runs_dir).glob("run-*/artifacts/model-staging"))
    manifest = json.loads((bundles[-1] / "manifest.json").read_text())
    assert (manifest["version"], manifest["stage"]) == ("v0.1.0", "staging")
    assert (bundles[-1] / "model.skops").is_file()

    again = merged.push_to_main()
    assert again["register"].passed, again["register"].report()
    assert "already registered" in again["register"].step("Register the version and assign staging").output
    assert remote_tags(merged.origin) == ["model#staging#1", "model@v0.1.0"]
    assert again["deploy-staging"].passed


def test_prod_is_assigned_by_hand_and_deployed_in_the_same_run(merged: World) -> None:
    merged.push_to_main()  # idempotent: v0.1.0 is in staging whichever test ran first
    results = merged.dispatch_prod("v0.1.0")
    assert results["assign"].passed, results["assign"].report()
    prod_tags = [tag for tag in remote_tags(merged.origin) if tag.startswith("model#prod#")]
    assert len(prod_tags) == 1  # GTO numbers assignments across stages: model#prod#2
    assert results["deploy-prod"].passed, results["deploy-prod"].report()
    bundles = sorted(merged.runs_dir.glob("run-*/artifacts/model-prod"))
    assert json.loads((bundles[-1] / "manifest.json").read_text())["stage"] == "prod"
    again = merged.dispatch_prod("v0.1.0")
    assert "already assigned" in again["assign"].step("Assign prod").output
    assert [tag for tag in remote_tags(merged.origin) if tag.startswith("model#prod#")] == prod_tags
