"""A real Git repository with GTO tags, mid-rollout."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep import registry

from tests.conftest import REPO_ROOT
from tests.unit.registry.test_tags import commit_model, git


@pytest.fixture
def rollout_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """v0.1.0 in prod and v0.2.0 in canary."""
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.skops\n    type: model\n")
    (tmp_path / ".gto").write_text((REPO_ROOT / ".gto").read_text())
    commit_model(tmp_path, "a" * 32, "first")
    registry.register(str(tmp_path))
    registry.assign(str(tmp_path), "v0.1.0", "prod")
    commit_model(tmp_path, "b" * 32, "second")
    registry.register(str(tmp_path))
    registry.assign(str(tmp_path), "v0.2.0", "canary")
    monkeypatch.chdir(tmp_path)
    return tmp_path
