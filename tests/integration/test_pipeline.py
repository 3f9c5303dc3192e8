"""`dvc repro` end to end, in a fresh Git copy of the project."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import FIRST_REPRO_LOG, FIRST_REPRO_STATUS, PACKAGE, REPO_ROOT, Project


def test_repro_matches_the_committed_lock_bit_for_bit(reproduced_template: Project, reproduced: Project) -> None:
    # The session's shared project is a fresh copy on which `make repro` ran once: read that run, don't repeat it.
    built = reproduced_template.root.parent
    first = (built / FIRST_REPRO_LOG).read_text()
    for stage in ("ingest", "prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first
    changed = (built / FIRST_REPRO_STATUS).read_text()
    assert changed == "", f"make repro changed tracked files: an output is not deterministic:\n{changed}"

    again = reproduced.run("dvc", "repro").stdout
    assert "Running stage" not in again
    assert "Data and pipelines are up to date." in again

    forced = reproduced.run("dvc", "repro", "--force").stdout
    assert forced.count("Running stage") == len(yaml.safe_load((reproduced.root / "dvc.yaml").read_text())["stages"])
    assert reproduced.read("dvc.lock") == (REPO_ROOT / "dvc.lock").read_text(encoding="utf-8")
    assert reproduced.git_status() == ""


def test_metrics_plots_and_dag_work_as_dvc_users_expect(reproduced: Project) -> None:
    metrics = json.loads(reproduced.run("dvc", "metrics", "show", "--json").stdout)
    workspace = metrics[""]["data"]  # DVC keys the workspace as ""
    assert 0.65 < workspace["metrics/metrics.json"]["data"]["roc_auc"] < 0.85
    assert workspace["metrics/data.json"]["data"]["rows"] == 20_000

    plots = reproduced.run("dvc", "plots", "show", "--json").stdout
    assert "failed to load" not in plots
    rendered = json.loads(plots)
    rendered_files = {Path(name).stem for name in rendered["data"]}
    assert {"roc", "precision_recall", "confusion_matrix", "feature_importance", "calibration"} <= rendered_files

    dag = reproduced.run("dvc", "dag", "--dot").stdout
    for edge in ('"ingest" -> "prepare"', '"prepare" -> "train"', '"train" -> "evaluate"', '"prepare" -> "evaluate"'):
        assert edge in dag

    status = reproduced.run("dvc", "status").stdout
    assert "Data and pipelines are up to date." in status


def test_the_model_is_a_registered_artifact(reproduced: Project) -> None:
    artifacts = yaml.safe_load(reproduced.read("dvc.yaml"))["artifacts"]
    assert artifacts["model"]["path"] == "models/model.skops"
    listed = reproduced.run("dvc", "ls", ".", "models", "--dvc-only").stdout
    assert "model.skops" in listed


def test_registration_refuses_outputs_that_are_not_the_commit_s_or_not_in_the_remote(reproduced: Project) -> None:
    refused = reproduced.run("lockstep", "registry", "register", check=False)
    assert refused.returncode == 2
    assert "error: the DVC remote does not hold " in refused.stdout
    assert "models/model.skops" in refused.stdout
    assert "`make push` first" in refused.stdout
    reproduced.run("dvc", "push")

    metrics = reproduced.root / "metrics" / "metrics.json"
    committed = metrics.read_text()
    metrics.write_text(committed.replace('"roc_auc": 0.', '"roc_auc": 0.9'))
    refused = reproduced.run("lockstep", "registry", "register", check=False)
    assert refused.returncode == 2
    assert "(after reproducing, metrics/metrics.json differ): run `make repro`, then commit" in refused.stdout
    assert reproduced.run("git", "tag").stdout == ""

    metrics.write_text(committed)
    assert "model v0.1.0 (registered)" in reproduced.run(PACKAGE, "registry", "register").stdout
