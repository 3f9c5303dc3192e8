"""Environments of their own for packages that cannot join the project's lock, installed from hashed pins."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT, clean_environ


def uv() -> str:
    """uv as the Makefile finds it: on PATH, or the one `make` bootstrapped into .tools."""
    return shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")


def install(folder: Path, requirements: Path) -> None:
    """A Python 3.11 environment in `folder`/venv with exactly `requirements` in it (a changed hash fails it)."""
    venv = folder / "venv"
    install = ["pip", "install", "--quiet", "--require-hashes", "--python", str(venv / "bin" / "python")]
    for command in (
        [uv(), "venv", "--quiet", "--python", "3.11", str(venv)],
        [uv(), *install, "-r", str(requirements)],
    ):
        result = subprocess.run(command, env=clean_environ(), capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr}"
