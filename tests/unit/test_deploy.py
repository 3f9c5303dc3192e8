"""The deploy bundle: the model and card of a registered version, checked against that version's dvc.lock."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline

from lockstep import registry
from lockstep.deploy import write_bundle
from lockstep.errors import PipelineError
from lockstep.modeling.persistence import save_model

from tests.conftest import REPO_ROOT, tool_env

FILES = ("models/model.skops", "models/model_card.json", "models/trusted_types.json")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], env=tool_env(), check=True, capture_output=True, text=True).stdout


def commit_lock(message: str) -> None:
    """Commit a dvc.lock that records the model and card now in models/."""
    outs = "".join(
        f"    - path: {name}\n      md5: {hashlib.md5(Path(name).read_bytes()).hexdigest()}\n" for name in FILES
    )
    Path("dvc.lock").write_text(f"schema: '2.0'\nstages:\n  train:\n    outs:\n{outs}")
    git("add", "dvc.lock")
    git("commit", "-q", "-m", message)


@pytest.fixture
def checked_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained: Pipeline) -> Path:
    """A repository whose HEAD is registered as v0.1.0, with that version's model and card checked out."""
    monkeypatch.chdir(tmp_path)
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, tool_env()[key])
    git("init", "-q", "-b", "main")
    Path("dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.skops\n    type: model\n")
    Path(".gto").write_text((REPO_ROOT / ".gto").read_text())
    git("add", "dvc.yaml", ".gto")
    save_model(trained, Path("models/model.skops"), Path("models/trusted_types.json"))
    Path("models/model_card.json").write_text(json.dumps({"metrics": {"test": {"roc_auc": 0.75}}}))
    commit_lock("the first model")
    assert registry.register(".") == ("v0.1.0", True)
    return tmp_path


def test_bundle_holds_the_verified_model_card_and_manifest(checked_out: Path) -> None:
    manifest = write_bundle(Path("dist/model"), "v0.1.0", "staging")
    assert sorted(p.name for p in Path("dist/model").iterdir()) == [
        "manifest.json",
        "model.skops",
        "model_card.json",
        "trusted_types.json",
    ]
    assert (manifest["version"], manifest["stage"]) == ("v0.1.0", "staging")
    assert manifest["commit"] == git("rev-parse", "HEAD").strip()
    model = Path("models/model.skops").read_bytes()
    assert manifest["model"]["sha256"] == hashlib.sha256(model).hexdigest()
    assert manifest["model"]["md5"] == hashlib.md5(model).hexdigest()
    assert manifest["metrics"]["test"]["roc_auc"] == 0.75


def test_a_model_that_is_not_the_version_s_is_refused(checked_out: Path) -> None:
    Path("models/model.skops").write_bytes(b"another model")
    with pytest.raises(PipelineError, match=r"models/model.skops is not v0\.1\.0's: its md5 is"):
        write_bundle(Path("dist/model"), "v0.1.0", "staging")
    assert not Path("dist").exists()


def test_the_version_s_own_lock_is_the_reference_not_the_work_tree_s(checked_out: Path) -> None:
    Path("models/model.skops").write_bytes(b"a later model")
    commit_lock("a later model, not registered")  # the work tree's dvc.lock now agrees with the file
    with pytest.raises(PipelineError, match=r"is not v0\.1\.0's"):
        write_bundle(Path("dist/model"), "v0.1.0", "staging")
    with pytest.raises(PipelineError, match=r"model has no version v0\.2\.0"):
        write_bundle(Path("dist/model"), "v0.2.0", "staging")


def test_an_edited_card_is_refused_and_an_old_bundle_is_kept(checked_out: Path) -> None:
    write_bundle(Path("dist/model"), "v0.1.0", "staging")
    Path("models/model_card.json").write_text("{}")
    with pytest.raises(PipelineError, match="model_card.json is not v0.1.0's"):
        write_bundle(Path("dist/model"), "v0.1.0", "prod")
    assert json.loads(Path("dist/model/manifest.json").read_text())["stage"] == "staging"


def test_a_missing_model_says_to_pull_it(checked_out: Path) -> None:
    Path("models/model.skops").unlink()
    with pytest.raises(PipelineError, match="dvc pull models/model.skops"):
        write_bundle(Path("dist/model"), "v0.1.0", "staging")
