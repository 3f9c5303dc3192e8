"""A small prepared dataset and trained model, shared by the unit tests."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline

from lockstep import registry
from lockstep.config import Params, Task, parse_params
from lockstep.contract import model_contract
from lockstep.contract.model_contract import ModelContract
from lockstep.data.prepare import PreparedData, prepare_data
from lockstep.data.synthetic import generate_credit_data
from lockstep.evaluation.calibration import fit_reference
from lockstep.evaluation.profile import fit_profile
from lockstep.evaluation.reference import MonitoringReference, fit_monitoring_reference
from lockstep.io import dumps_json
from lockstep.modeling.persistence import save_model
from lockstep.modeling.train import train_model
from lockstep.registry.store import ModelVersion, load_version

from tests.conftest import REPO_ROOT, tool_env


@pytest.fixture(scope="session")
def cfg() -> Params:
    return parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))


@pytest.fixture(scope="session")
def prepared(cfg: Params) -> PreparedData:
    return prepare_data(generate_credit_data(4_000, seed=8), cfg)


@pytest.fixture(scope="session")
def trained(prepared: PreparedData, cfg: Params) -> Pipeline:
    return train_model(prepared.train, prepared.features, cfg)


@pytest.fixture(scope="session")
def trusted_types(tmp_path_factory: pytest.TempPathFactory, trained: Pipeline) -> list[str]:
    """The types the trained model's skops file holds beyond skops' defaults."""
    folder = tmp_path_factory.mktemp("types")
    return save_model(trained, folder / "model.skops", folder / "trusted_types.json")


@pytest.fixture(scope="session")
def contract(prepared: PreparedData, cfg: Params, trusted_types: list[str]) -> ModelContract:
    return model_contract.build_contract(prepared.features, cfg, trusted_types)


MODEL_FILES = (
    "models/model.skops",
    "models/trusted_types.json",
    "models/contract.json",
    "models/model_card.json",
    "models/reference.json",
)


@functools.cache
def reference_json() -> bytes:
    """A small monitoring reference, as evaluate writes one (the registry verifies its bytes, whatever they hold)."""
    rng = np.random.default_rng(0)
    scores = rng.random(2_000)
    labels = (rng.random(2_000) < scores).astype(int)
    profile = fit_profile({"age": rng.normal(40, 10, 2_000)}, {"age"}, score=scores)
    reference = MonitoringReference(profile, fit_reference(Task.BINARY, scores, labels, ("0", "1")))
    return dumps_json(reference.to_dict()).encode()


def git(*args: str) -> str:
    return subprocess.run(["git", *args], env=tool_env(), check=True, capture_output=True, text=True).stdout


def write_model_files(model: Pipeline, contract: ModelContract) -> None:
    """The model, its trusted types, contract, card and reference in models/, and a dvc.lock that records them."""
    save_model(model, Path("models/model.skops"), Path("models/trusted_types.json"))
    Path("models/reference.json").write_bytes(reference_json())
    Path("models/model_card.json").write_text(json.dumps({"metrics": {"test": {"roc_auc": 0.75}}}))
    model_contract.write_contract(contract, Path("models/contract.json"))
    write_lock(Path("dvc.lock"), Path("models"))


def commit_lock(message: str) -> None:
    """Commit a dvc.lock that records the model files now in models/."""
    write_lock(Path("dvc.lock"), Path("models"))
    git("add", "dvc.lock")
    git("commit", "-q", "-m", message)


def registered_repo(folder: Path, model: Pipeline, contract: ModelContract, version: str | None = None) -> None:
    """Make `folder` a Git repository whose HEAD is registered (as `version`, or the first version)."""
    import gto.api

    with contextlib.chdir(folder):
        git("init", "-q", "-b", "main")
        Path("dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.skops\n    type: model\n")
        Path(".gto").write_text((REPO_ROOT / ".gto").read_text())
        git("add", "dvc.yaml", ".gto")
        write_model_files(model, contract)
        commit_lock("the first model")
        if version is None:
            assert registry.register(".") == ("v0.1.0", True)
        else:
            gto.api.register(".", registry.ARTIFACT, "HEAD", version=version)


@pytest.fixture
def checked_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained: Pipeline, contract: ModelContract) -> Path:
    """A repository whose HEAD is registered as v0.1.0, with that version's model files checked out."""
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, tool_env()[key])
    registered_repo(tmp_path, trained, contract)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_lock(lock: Path, models: Path) -> None:
    """A dvc.lock that records the md5 of each file in `models` (as DVC would)."""
    outs = "".join(
        f"    - path: models/{p.name}\n      md5: {hashlib.md5(p.read_bytes()).hexdigest()}\n"
        for p in sorted(models.iterdir())
    )
    lock.write_text("schema: '2.0'\nstages:\n  train:\n    outs:\n" + outs)


def make_bundle(folder: Path, model: Pipeline, contract: ModelContract, version: str) -> Path:
    """A deploy bundle of `model` as `version`, written by `lockstep bundle`'s own function from a registered repo."""
    from lockstep.registry.bundle import write_bundle

    with _git_identity():
        registered_repo(folder, model, contract, version)
        with contextlib.chdir(folder):
            write_bundle(Path("bundle"), version, "prod")
    return folder / "bundle"


@contextlib.contextmanager
def _git_identity() -> Iterator[None]:
    """Git's author and committer for a session-scoped fixture (which cannot use monkeypatch)."""
    keys = ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")
    saved = {key: os.environ.get(key) for key in keys}
    os.environ.update({key: tool_env()[key] for key in keys})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory, trained: Pipeline, contract: ModelContract) -> Path:
    """A bundle of the trained model, as version v0.3.0."""
    return make_bundle(tmp_path_factory.mktemp("bundle"), trained, contract, "v0.3.0")


@pytest.fixture(scope="session")
def candidate_bundle(
    tmp_path_factory: pytest.TempPathFactory, prepared: PreparedData, cfg: Params, contract: ModelContract
) -> Path:
    """A bundle of a different model (much stronger regularisation) as v0.4.0: a rollout's candidate.

    Built once per session and shared by every xdist worker (the model is the same bits in each).
    """
    from tests.shared import build_once, replace

    def build(folder: Path) -> None:
        other = train_model(prepared.train, prepared.features, replace(cfg, model={**cfg.model, "C": 0.01}))
        make_bundle(folder, other, contract, "v0.4.0")

    return build_once(tmp_path_factory, "candidate-bundle", build) / "bundle"


@pytest.fixture(scope="session")
def served(bundle: Path) -> ModelVersion:
    """The trained model, loaded from its bundle as the server loads it."""
    return load_version(str(bundle))


@pytest.fixture(scope="session")
def monitoring_reference(prepared: PreparedData, served: ModelVersion, cfg: Params) -> MonitoringReference:
    """The trained model's monitoring reference, fitted as evaluate fits it (the bundle's is a small stand-in)."""
    outputs = served.predict(prepared.test)
    predictions = pd.DataFrame({"y_true": prepared.test[cfg.data.target].to_numpy(), **outputs})
    return fit_monitoring_reference(prepared.train, predictions.rename(columns={"label": "y_pred"}), served.contract)
