"""Expensive test state, built once per test session and shared by every xdist worker.

A reproduced project (its pipeline run, its DVC cache filled) and a locked
environment (`.venv` from `make install`) take minutes to build, and every
worker used to build its own. Here the first worker that asks builds it under a
file lock in the folder all workers of the session share; the others wait for
it, then only read it: tests copy it (`copy_tree`) or hard-link its
environment (`link_environment`) and change the copy.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

# filelock comes with DVC (its own locks use it), so it is in every environment that runs these tests.
from filelock import FileLock

from lockstep.config import Params, load_params

SectionT = TypeVar("SectionT")

# Never copied with a shared project: the environments (linked instead) and bytecode.
ENVIRONMENT_DIRS = (".venv", ".tools")
SCRATCH = ("__pycache__",)


def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder every worker of this session shares (xdist gives each worker a child of it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """`<session dir>/<name>`, made by `build(path)` in whichever worker asks first; the others wait."""
    root = session_dir(tmp_path_factory)
    target, done = root / name, root / f"{name}.built"
    with FileLock(root / f"{name}.lock"):
        if not done.exists():
            if target.exists():  # a build that failed in another worker: start again
                shutil.rmtree(target)
            target.mkdir()
            build(target)
            done.touch()
    return target


def copy_tree(source: Path, destination: Path) -> None:
    """Copy a shared project's files (Git history and DVC cache included), without its environments."""
    top_level = set(ENVIRONMENT_DIRS)
    dvc_scratch = source / ".dvc"

    def ignored(folder: str, names: list[str]) -> list[str]:
        here = Path(folder)
        skip = [name for name in names if name in SCRATCH]
        if here == source:
            skip += [name for name in names if name in top_level]
        if here == dvc_scratch:
            skip += [name for name in names if name == "tmp"]  # DVC's locks and state belong to one work tree
        return skip

    shutil.copytree(source, destination, symlinks=True, ignore=ignored)


def link_environment(built: Path, project: Path) -> bool:
    """Give `project` hard-linked copies of `built`'s `.venv` and `.tools`, as if `make install` had made them there.

    Only when the project locks the same environment (its uv.lock and pyproject.toml
    are byte for byte those `built` was synced from); otherwise nothing is linked
    and returns False, so a real `make install` syncs the project's own.
    The files are shared, so nothing may write into them in place: the few that
    name their folder (scripts' `#!` lines, the editable install's path) are
    rewritten as new files, and `.venv/.synced` is new, so make sees it up to date.
    """
    for name in ("uv.lock", "pyproject.toml"):
        if (project / name).read_bytes() != (built / name).read_bytes():
            return False
    for name in ENVIRONMENT_DIRS:
        if not (built / name).is_dir():  # `.tools` exists only where make bootstrapped uv itself
            continue
        subprocess.run(["cp", "-al", str(built / name), str(project / name)], check=True)
        _relocate(project / name, str(built), str(project))
    synced = project / ".venv" / ".synced"
    synced.unlink(missing_ok=True)  # an environment not made by `make install` has none
    synced.touch()
    return True


def _relocate(environment: Path, old_root: str, new_root: str) -> None:
    """Rewrite the files of a linked environment that name the project it was built in."""
    candidates = [path for path in (environment / "bin").iterdir() if path.is_file() and not path.is_symlink()]
    for site_packages in environment.glob("lib/python*/site-packages"):
        candidates += site_packages.glob("*.pth")
        candidates += site_packages.glob("*.dist-info/direct_url.json")
    old, new = old_root.encode(), new_root.encode()
    for path in candidates:
        data = path.read_bytes()
        if old in data:
            mode = stat.S_IMODE(path.stat().st_mode)
            path.unlink()  # a new file: the shared one keeps its contents
            path.write_bytes(data.replace(old, new))
            path.chmod(mode)


def shipped_params() -> Params:
    """The project's committed params.yaml, checked: the base that tests change a few values of."""
    return load_params(Path(__file__).resolve().parent.parent / "params.yaml")


def replace(section: SectionT, **changes: object) -> SectionT:
    """`dataclasses.replace` for the frozen params schema too: a copy of `section` with `changes`, checked again."""
    if dataclasses.is_dataclass(section):
        return dataclasses.replace(section, **changes)
    return type(section).model_validate({**section.model_dump(by_alias=True), **changes})


def write_params(path: Path, **sections: object) -> Path:
    """Write the project's params.yaml to `path` with `sections` (top-level keys) replaced; return `path`."""
    import yaml

    raw = yaml.safe_load((Path(__file__).resolve().parent.parent / "params.yaml").read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(raw | sections, sort_keys=False), encoding="utf-8")
    return path
