from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline

from lockstep.deploy import write_bundle
from lockstep.errors import PipelineError
from lockstep.modeling.persistence import save_model


@pytest.fixture
def checked_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained: Pipeline) -> Path:
    monkeypatch.chdir(tmp_path)
    save_model(trained, Path("models/model.skops"), Path("models/trusted_types.json"))
    Path("models/model_card.json").write_text(json.dumps({"metrics": {"test": {"roc_auc": 0.75}}}))
    md5 = {
        name: hashlib.md5(Path(f"models/{name}").read_bytes()).hexdigest()
        for name in ("model.skops", "model_card.json")
    }
    Path("dvc.lock").write_text(
        "stages:\n  train:\n    outs:\n"
        f"    - path: models/model.skops\n      md5: {md5['model.skops']}\n"
        f"    - path: models/model_card.json\n      md5: {md5['model_card.json']}\n"
    )
    return tmp_path


def test_bundle_holds_the_verified_model_card_and_manifest(checked_out: Path) -> None:
    manifest = write_bundle(Path("dist/model"), "v0.3.0", "staging")
    assert sorted(p.name for p in Path("dist/model").iterdir()) == [
        "manifest.json",
        "model.skops",
        "model_card.json",
        "trusted_types.json",
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
