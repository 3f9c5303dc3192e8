"""The one way to read a file as committed at a revision.

Git-tracked files (params, metrics, dvc.lock) come from `git show`; DVC-tracked
ones (the model, the prepared data) through the revision's DVC file system,
from the local cache or the remote. Open a `Revision` once per revision and
read as many files as needed: the DVC file system is opened on the first DVC
read and closed with the `Revision`.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import PipelineError


def resolve_commit(rev: str, repo: str | Path = ".") -> str:
    """The full commit hash of `rev`, or a PipelineError saying how to fetch it."""
    result = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", rev + "^{commit}"], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise PipelineError(f"revision {rev!r} not found; fetch it first (git fetch origin {rev})")
    return result.stdout.strip()


def git_bytes(path: Path, rev: str, repo: str | Path = ".") -> bytes | None:
    """The content of Git-tracked `path` at commit `rev` of `repo`, or None if it has none there."""
    shown = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path.as_posix()}"], capture_output=True)
    return shown.stdout if shown.returncode == 0 else None


class Revision(contextlib.AbstractContextManager["Revision"]):
    """Files of `repo` as committed at `commit`: Git-tracked ones and DVC-tracked ones."""

    def __init__(self, commit: str, repo: str | Path = ".") -> None:
        self.commit = commit
        self.repo = Path(repo)
        self._stack = contextlib.ExitStack()
        self._fs: Any = None

    def git(self, path: Path) -> bytes | None:
        """A Git-tracked file's bytes at this revision, or None if it has none."""
        return git_bytes(path, self.commit, self.repo)

    def dvc(self, path: Path) -> bytes:
        """A DVC-tracked file's bytes at this revision, from the cache or the remote; raises what DVC raises."""
        if self._fs is None:
            from dvc.fs.dvc import DVCFileSystem
            from dvc.repo import Repo

            opened = Repo.open(str(self.repo), rev=self.commit, subrepos=True, uninitialized=True)
            repo = self._stack.enter_context(opened)
            self._fs = DVCFileSystem(repo=repo, subrepos=True)
        with self._fs.open(self._fs.from_os_path(path.as_posix()), mode="rb") as handle:
            return handle.read()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stack.close()
