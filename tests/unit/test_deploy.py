from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lockstep.deploy import write_bundle
from lockstep.errors import PipelineError


def test_bundle_holds_the_verified_model_card_and_manifest(checked_out: Path) -> None:
    manifest = write_bundle(Path("dist/model"), "v0.3.0", "staging")
    assert sorted(p.name for p in Path("dist/model").iterdir()) == [
        "contract.json",
        "manifest.json",
        "model.skops",
        "model_card.json",
    ]
    assert (manifest["version"], manifest["stage"]) == ("v0.3.0", "staging")
    assert manifest["model"]["sha256"] == hashlib.sha256(Path("models/model.skops").read_bytes()).hexdigest()
    assert manifest["metrics"]["test"]["roc_auc"] == 0.75


def test_a_model_that_does_not_match_the_lock_is_refused(checked_out: Path) -> None:
    Path("models/model.skops").write_bytes(b"not the locked model")
    with pytest.raises(PipelineError, match="does not match dvc.lock"):
        write_bundle(Path("dist/model"), "v0.3.0", "staging")
    assert not Path("dist").exists()


def test_an_edited_card_is_refused_and_an_old_bundle_is_kept(checked_out: Path) -> None:
    write_bundle(Path("dist/model"), "v0.3.0", "staging")
    Path("models/model_card.json").write_text("{}")
    with pytest.raises(PipelineError, match="model_card.json does not match dvc.lock"):
        write_bundle(Path("dist/model"), "v0.4.0", "staging")
    assert json.loads(Path("dist/model/manifest.json").read_text())["version"] == "v0.3.0"


def test_a_missing_model_says_to_pull_it(checked_out: Path) -> None:
    Path("models/model.skops").unlink()
    with pytest.raises(PipelineError, match="dvc pull models/model.skops"):
        write_bundle(Path("dist/model"), "v0.3.0", "staging")


def test_a_model_without_its_contract_is_refused(checked_out: Path) -> None:
    Path("models/contract.json").unlink()
    with pytest.raises(PipelineError, match="contract.json is missing or does not match dvc.lock"):
        write_bundle(Path("dist/model"), "v0.3.0", "staging")
