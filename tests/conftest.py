"""Shared fixtures: real Git repositories holding a copy of this project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.s3 import s3_endpoint  # noqa: F401  (the fixture, for every folder)
from tests.shared import build_once, copy_tree, link_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS = REPO_ROOT / "tests"
# The folders of minutes-long tests, and the marker each gives all of its tests: its own make target selects
# that marker and `make test` leaves it out (LONG_TESTS in the Makefile). tests/unit/test_markers.py keeps
# the Makefile and the modules in step with this.
LONG_FOLDERS = {
    "workflows": "workflow",
    "template": "slow",
    "load": "load",
    "container": "container",
    "datasets": "datasets",
    "scale": "scale",
}
# The folders whose tests run real DVC and Git in temporary repositories: marked `integration`.
INTEGRATION_FOLDERS = ("integration", "workflows", "template", "datasets", "scale")
# The package, and the command it installs (a new project renames both).
PACKAGE = "lockstep"
VENV_BIN = Path(sys.executable).parent


def stage_outputs(stage: dict) -> dict[str, dict]:
    """Every output a dvc.yaml stage declares (outs, metrics, plots): path -> its options."""
    found: dict[str, dict] = {}
    for kind in ("outs", "metrics", "plots"):
        for entry in stage.get(kind, []):
            path = entry if isinstance(entry, str) else next(iter(entry))
            options = {} if isinstance(entry, str) else dict(entry[path] or {})
            found[path] = options | {"kind": kind}
    return found


def project_files() -> list[str]:
    """The files of this project as Git sees them: tracked, plus new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted({name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()})


# What a clean process (DVC and Git in a test, a fresh shell, a simulated runner's job) does not inherit from
# this one: this test run's own settings (pytest, its venv, uv's project), the tools' configuration (DVC_,
# GIT_, AWS_ but the machine's CA bundle), and a CI context (GITHUB_, CML_, REPO_TOKEN).
# PYTHONDONTWRITEBYTECODE: this machine sets it, a user's shell or a runner does not. The environment's
# bytecode is compiled at install (Makefile), and a project copy's own package by its first process, for the next.
DROPPED_VARIABLES = (
    "PYTEST",
    "VIRTUAL_ENV",
    "UV_PROJECT",
    "DVC_",
    "GIT_",
    "AWS_",
    "GITHUB_",
    "CML_",
    "REPO_TOKEN",
    "PYTHONDONTWRITEBYTECODE",
)
KEPT_VARIABLES = ("AWS_CA_BUNDLE",)


def clean_environ() -> dict[str, str]:
    """This machine's environment (certificates, caches, locale) less DROPPED_VARIABLES."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(DROPPED_VARIABLES) or key in KEPT_VARIABLES
    }


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for DVC and Git in tests: the venv first on PATH, no user config."""
    env = clean_environ()
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "Tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@example.invalid"
    env["DVC_NO_ANALYTICS"] = "1"
    site_cache = f"{PACKAGE}-dvc-site-cache"
    env["DVC_SITE_CACHE_DIR"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / site_cache)
    env.update(extra)
    return env


def fresh_shell_env() -> dict[str, str]:
    """This machine's environment minus this test run's venv: what a fresh shell would have."""
    venv = str(VENV_BIN)
    env = clean_environ()
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part != venv)
    return env | {key: value for key, value in tool_env().items() if key.startswith("GIT_")}


@dataclass
class Project:
    """A Git repository (with a bare `origin`) holding a copy of this project."""

    root: Path
    origin: Path

    def run(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run a command in the project and return the finished process (stdout and stderr merged)."""
        result = subprocess.run(
            list(args),
            cwd=self.root,
            env=env or tool_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}")
        return result

    def git_status(self) -> str:
        return self.run("git", "status", "--porcelain").stdout

    def commit_all(self, message: str) -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def read_bytes(self, relative: str) -> bytes:
        return (self.root / relative).read_bytes()


def copy_project(destination: Path) -> Project:
    """Copy this project into `destination/work` as a fresh Git repo with a bare origin."""
    root = destination / "work"
    for name in project_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    origin = destination / "origin.git"
    project = Project(root, origin)
    project.run("git", "init", "-q", "--bare", "-b", "main", str(origin))
    project.run("git", "init", "-q", "-b", "main")
    project.commit_all("Copy of the project under test")
    project.run("git", "remote", "add", "origin", str(origin))
    project.run("git", "push", "-q", "origin", "main")
    return project


def clone_reproduced(template: Project, destination: Path) -> Project:
    """Copy a reproduced project whole (Git history, DVC cache, outputs), with its own origin."""
    root, origin = destination / "work", destination / "origin.git"
    copy_tree(template.root, root)
    shutil.copytree(template.origin, origin)
    project = Project(root, origin)
    project.run("git", "remote", "set-url", "origin", str(origin))
    return project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A fresh copy of the project whose pipeline has not run."""
    return copy_project(tmp_path)


FIRST_REPRO_LOG, FIRST_REPRO_STATUS = "first-repro.log", "first-repro-status.txt"


def install_and_reproduce(destination: Path) -> None:
    """Copy the project into `destination`, then `make repro` there in the environment these tests run in.

    The copy hard-links this checkout's `.venv` (`make install` finds it up to date), so the
    session syncs no second environment: the test that needs a real `uv sync` from uv.lock
    is the first-model pull request in tests/workflows, whose job installs its own.
    """
    template = copy_project(destination)
    if not link_environment(REPO_ROOT, template.root):
        raise AssertionError(f"{REPO_ROOT} has no environment synced from this uv.lock: run `make install`")
    # Its package's bytecode is written once here, and read by the copies of it.
    reproduced = template.run("make", "repro", env=fresh_shell_env()).stdout
    # What the first run printed and left changed: the bit-for-bit test reads them instead of running it again.
    (destination / FIRST_REPRO_LOG).write_text(reproduced)
    (destination / FIRST_REPRO_STATUS).write_text(template.git_status())
    if template.git_status():  # a work tree whose dvc.lock is stale; the bit-for-bit test reports that
        template.commit_all("Reproduce the pipeline")
        template.run("git", "push", "-q", "origin", "main")


@pytest.fixture(scope="session")
def reproduced_template(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """One copy of the project with its environment installed and its pipeline run, shared by every worker.

    Others copy it (`reproduced`) or link its environment (the workflow jobs); none changes it.
    """
    shared = build_once(tmp_path_factory, "reproduced", install_and_reproduce)
    return Project(shared / "work", shared / "origin.git")


@pytest.fixture
def reproduced(tmp_path: Path, reproduced_template: Project) -> Project:
    """A fresh copy of the project whose pipeline has run, outputs and DVC cache included."""
    return clone_reproduced(reproduced_template, tmp_path)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[str], Project]:
    """Make as many independent copies of the project as a test needs."""

    def make(name: str) -> Project:
        (tmp_path / name).mkdir()
        return copy_project(tmp_path / name)

    return make


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist declares this marker itself, but not when it is disabled (`-p no:xdist`).
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def folder_markers(path: Path) -> list[str]:
    """The markers that a test module gets from its folder under tests/ (none outside them)."""
    if not path.is_relative_to(TESTS):
        return []
    folder = path.relative_to(TESTS).parts[0]
    return (["integration"] if folder in INTEGRATION_FOLDERS else []) + (
        [LONG_FOLDERS[folder]] if folder in LONG_FOLDERS else []
    )


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by marker, and xdist's reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, and keep a module's tests on one xdist worker when they share a module fixture.

    A test in tests/load, say, is a `load` test whatever its module says, so it cannot
    land in `make test` by accident. With `--dist loadgroup` (`make test`), a module-scoped
    fixture is built once, not once per worker that gets one of its tests. Other tests
    spread one by one.
    """
    for item in items:
        for name in folder_markers(item.path):
            item.add_marker(name)
        definitions = getattr(item, "_fixtureinfo", None)  # pytest's own record of the item's fixtures
        if definitions is None:
            continue
        scopes = {fixture.scope for chain in definitions.name2fixturedefs.values() for fixture in chain}
        if "module" in scopes:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
