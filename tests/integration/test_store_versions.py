"""Loading a registered version or a stage: real Git, DVC and GTO; the file comes from the DVC cache."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from sklearn.pipeline import Pipeline

from lockstep import registry
from lockstep.config import parse_params
from lockstep.contract.model_contract import build_contract, write_contract
from lockstep.data.prepare import prepare_data
from lockstep.data.synthetic import generate_credit_data
from lockstep.errors import PipelineError
from lockstep.modeling.persistence import save_model
from lockstep.modeling.train import train_model
from lockstep.registry.store import load_version

from tests.conftest import REPO_ROOT, tool_env

DVC_YAML = """\
stages:
  publish:
    cmd: mkdir -p models && cp staged/model.skops staged/trusted_types.json staged/contract.json models/
    deps: [staged]
    outs: [models/model.skops, models/trusted_types.json, models/contract.json]
artifacts:
  model:
    path: models/model.skops
    type: model
"""


def run(repo: Path, *args: str) -> str:
    return subprocess.run(list(args), cwd=repo, env=tool_env(), check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DVC project whose one commit is registered as v0.1.0 and assigned to prod."""
    repo = tmp_path_factory.mktemp("registered")
    cfg = parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))
    prepared = prepare_data(generate_credit_data(2_000, seed=5), cfg)
    model = train_model(prepared.train, prepared.features, cfg)
    types = save_model(model, repo / "staged" / "model.skops", repo / "staged" / "trusted_types.json")
    write_contract(build_contract(prepared.features, cfg, types), repo / "staged" / "contract.json")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / ".gto").write_text((REPO_ROOT / ".gto").read_text())
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, "dvc", "init", "-q")
    run(repo, "dvc", "repro", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "A model")
    version, _ = registry.register(str(repo))
    registry.assign(str(repo), version, "prod")
    return repo


def test_a_version_and_its_stage_load_the_same_model(registered: Path) -> None:
    by_version = load_version("v0.1.0", registered)
    by_stage = load_version("prod", registered)
    assert isinstance(by_version.model, Pipeline)
    assert by_version.version == by_stage.version == "v0.1.0"
    assert by_version.sha256 == by_stage.sha256
    assert by_version.contract == by_stage.contract


def test_unknown_versions_and_empty_stages_are_refused(registered: Path) -> None:
    with pytest.raises(PipelineError, match="model has no version v9.9.9"):
        load_version("v9.9.9", registered)
    with pytest.raises(PipelineError, match="'staging' is not a bundle folder, a version"):
        load_version("staging", registered)


def test_a_cached_file_that_differs_from_the_versions_lock_is_refused(registered: Path, tmp_path: Path) -> None:
    repo = tmp_path / "copy"
    shutil.copytree(registered, repo)
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    md5 = next(out["md5"] for out in lock["stages"]["publish"]["outs"] if out["path"] == "models/model.skops")
    cached = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes() + b"tampered")
    (repo / "models" / "model.skops").unlink()
    with pytest.raises(PipelineError, match="models/model.skops of v0.1.0 does not match its dvc.lock"):
        load_version("v0.1.0", repo)
