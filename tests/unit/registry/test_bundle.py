"""The deploy bundle: the model files and card of a registered version, checked against that version's dvc.lock."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lockstep.errors import PipelineError
from lockstep.registry.bundle import MLSERVER_IMPLEMENTATION, write_bundle

from tests.unit.conftest import commit_lock, git


def test_bundle_holds_the_verified_model_card_and_manifest(checked_out: Path) -> None:
    manifest = write_bundle(Path("dist/model"), "v0.1.0", "staging")
    assert sorted(p.name for p in Path("dist/model").iterdir()) == [
        "contract.json",
        "manifest.json",
        "model-settings.json",
        "model.skops",
        "model_card.json",
        "reference.json",
        "trusted_types.json",
    ]
    settings = json.loads(Path("dist/model/model-settings.json").read_text())
    assert settings == {"implementation": MLSERVER_IMPLEMENTATION, "parameters": {"uri": ".", "version": "v0.1.0"}}
    assert (manifest["version"], manifest["stage"]) == ("v0.1.0", "staging")
    assert manifest["commit"] == git("rev-parse", "HEAD").strip()
    model = Path("models/model.skops").read_bytes()
    assert manifest["model"]["sha256"] == hashlib.sha256(model).hexdigest()
    assert manifest["model"]["md5"] == hashlib.md5(model).hexdigest()
    contract = Path("models/contract.json").read_bytes()
    assert manifest["contract"] == {
        "file": "contract.json",
        "md5": hashlib.md5(contract).hexdigest(),
        "sha256": hashlib.sha256(contract).hexdigest(),
    }
    assert manifest["metrics"]["test"]["roc_auc"] == 0.75
    reference = Path("models/reference.json").read_bytes()
    assert manifest["reference"]["sha256"] == hashlib.sha256(reference).hexdigest()
    assert Path("dist/model/reference.json").read_bytes() == reference


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


@pytest.mark.parametrize("name", ["contract.json", "trusted_types.json", "reference.json"])
def test_a_model_file_that_is_not_the_version_s_is_refused(checked_out: Path, name: str) -> None:
    path = Path("models") / name
    path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(PipelineError, match=f"models/{name} is not v0.1.0's"):
        write_bundle(Path("dist/model"), "v0.1.0", "staging")
    Path(path).unlink()
    with pytest.raises(PipelineError, match=f"dvc pull models/{name}"):
        write_bundle(Path("dist/model"), "v0.1.0", "staging")


def test_a_version_trained_before_the_reference_is_bundled_without_one(checked_out: Path) -> None:
    import gto.api

    from lockstep.registry import ARTIFACT
    from lockstep.registry.store import load_version

    Path("models/reference.json").unlink()
    commit_lock("a model from before evaluate wrote the monitoring reference")
    gto.api.register(".", ARTIFACT, "HEAD", version="v0.2.0")
    manifest = write_bundle(Path("dist/model"), "v0.2.0", "staging")
    assert "reference" not in manifest
    assert not Path("dist/model/reference.json").exists()
    assert load_version("dist/model").reference is None
    assert load_version("workspace").reference is None
