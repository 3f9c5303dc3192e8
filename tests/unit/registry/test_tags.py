"""The registry's idempotent register/assign, on a real Git repository with GTO."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lockstep import registry
from lockstep.errors import PipelineError

from tests.conftest import REPO_ROOT, tool_env


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=tool_env(), check=True, capture_output=True, text=True).stdout


def commit_model(repo: Path, md5: str, message: str) -> None:
    """Commit a dvc.lock whose train stage records a model with this md5."""
    (repo / "dvc.lock").write_text(
        f"schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: models/model.skops\n      md5: {md5}\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> str:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.skops\n    type: model\n")
    (tmp_path / ".gto").write_text((REPO_ROOT / ".gto").read_text())
    commit_model(tmp_path, "a" * 32, "first")
    return str(tmp_path)


def tags(repo: str) -> list[str]:
    return git(Path(repo), "tag").split()


def test_register_is_idempotent_and_bumps_the_minor_version(repo: str) -> None:
    assert registry.register(repo) == ("v0.1.0", True)
    assert registry.register(repo) == ("v0.1.0", False)
    commit_model(Path(repo), "b" * 32, "second")
    assert registry.register(repo) == ("v0.2.0", True)
    assert tags(repo) == ["model@v0.1.0", "model@v0.2.0"]
    assert registry.version_commit(repo, "v0.2.0") == git(Path(repo), "rev-parse", "HEAD").strip()


def test_a_commit_with_the_same_model_bytes_gets_no_new_version(repo: str) -> None:
    registry.register(repo)
    commit_model(Path(repo), "a" * 32, "docs only")
    assert registry.register(repo) == ("v0.1.0", False)
    commit_model(Path(repo), "b" * 32, "a new model")
    commit_model(Path(repo), "b" * 32, "docs again")
    assert registry.register(repo) == ("v0.2.0", True)  # compared with the latest version, not the first
    assert tags(repo) == ["model@v0.1.0", "model@v0.2.0"]


def test_a_commit_without_a_locked_model_is_not_registered(repo: str) -> None:
    (Path(repo) / "dvc.lock").unlink()
    git(Path(repo), "commit", "-q", "-am", "no lock")
    with pytest.raises(PipelineError, match=r"dvc.lock at HEAD records no models/model.skops"):
        registry.register(repo)
    assert tags(repo) == []


def test_assign_is_idempotent_and_moves_the_stage(repo: str) -> None:
    version, _ = registry.register(repo)
    assert registry.assign(repo, version, "staging") is True
    assert registry.assign(repo, version, "staging") is False
    assert registry.stage_version(repo, "staging") == "v0.1.0"
    assert registry.stage_version(repo, "prod") is None
    assert tags(repo) == ["model#staging#1", "model@v0.1.0"]


def test_bad_assignments_are_one_line_errors(repo: str) -> None:
    registry.register(repo)
    with pytest.raises(PipelineError, match=r"model has no version v9\.9\.9; registered: v0\.1\.0"):
        registry.assign(repo, "v9.9.9", "staging")
    with pytest.raises(PipelineError, match="registry: Allowed stages are"):
        registry.assign(repo, "v0.1.0", "prdo")
    with pytest.raises(PipelineError, match=r"model has no version v0\.2\.0; registered: v0\.1\.0"):
        registry.version_commit(repo, "v0.2.0")
