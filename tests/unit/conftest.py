"""A small prepared dataset and trained model, shared by the unit tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from sklearn.pipeline import Pipeline

from lockstep.config import Config, parse_params
from lockstep.contract.model_contract import ModelContract, build_contract, write_contract
from lockstep.data.prepare import PreparedData, prepare_data
from lockstep.data.synthetic import generate_credit_data
from lockstep.modeling.persistence import save_model
from lockstep.modeling.train import train_model

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="session")
def cfg() -> Config:
    return parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))


@pytest.fixture(scope="session")
def prepared(cfg: Config) -> PreparedData:
    return prepare_data(generate_credit_data(4_000, seed=8), cfg)


@pytest.fixture(scope="session")
def trained(prepared: PreparedData, cfg: Config) -> Pipeline:
    return train_model(prepared.train, prepared.features, cfg)


@pytest.fixture(scope="session")
def contract(prepared: PreparedData, cfg: Config) -> ModelContract:
    return build_contract(prepared.features, cfg)


@pytest.fixture
def checked_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained: Pipeline, contract: ModelContract) -> Path:
    """A work tree holding a trained model, its card and contract, and a dvc.lock recording them."""
    monkeypatch.chdir(tmp_path)
    save_model(trained, Path("models/model.skops"))
    Path("models/model_card.json").write_text(json.dumps({"metrics": {"test": {"roc_auc": 0.75}}}))
    write_contract(contract, Path("models/contract.json"))
    write_lock(Path("dvc.lock"), Path("models"))
    return tmp_path


def write_lock(lock: Path, models: Path) -> None:
    """A dvc.lock that records the md5 of each file in `models` (as DVC would)."""
    outs = "".join(
        f"    - path: models/{p.name}\n      md5: {hashlib.md5(p.read_bytes()).hexdigest()}\n"
        for p in sorted(models.iterdir())
    )
    lock.write_text("stages:\n  train:\n    outs:\n" + outs)


def make_bundle(folder: Path, model: Pipeline, contract: ModelContract, version: str) -> Path:
    """A deploy bundle of `model`, written by `lockstep bundle`'s own function from a work tree in `folder`."""
    import contextlib

    from lockstep.deploy import write_bundle

    with contextlib.chdir(folder):
        save_model(model, Path("models/model.skops"))
        Path("models/model_card.json").write_text(json.dumps({"metrics": {}}))
        write_contract(contract, Path("models/contract.json"))
        write_lock(Path("dvc.lock"), Path("models"))
        write_bundle(Path("bundle"), version, "prod")
    return folder / "bundle"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory, trained: Pipeline, contract: ModelContract) -> Path:
    """A bundle of the trained model, as version v0.3.0."""
    return make_bundle(tmp_path_factory.mktemp("bundle"), trained, contract, "v0.3.0")
