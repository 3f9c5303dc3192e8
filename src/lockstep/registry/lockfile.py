"""What dvc.lock records, and whether a commit holds what its pipeline produces.

A reviewer reads the metrics of the bytes CI reproduced, and the merge must
carry a dvc.lock that names those same bytes. The pipeline is bit-for-bit
reproducible, so that is one comparison: after reproducing a commit, dvc.lock
and the Git-tracked outputs (metrics/) in the work tree must equal the commit's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import PipelineError
from .revision import git_bytes

# The files a reproduction rewrites that Git, not DVC, keeps: the lock and the `cache: false` outputs.
COMMITTED_RESULTS = (paths.LOCK_FILE, paths.METRICS_DIR)
FIX_STALE = "run `make repro`, then commit dvc.lock and metrics/"


def read_lock(rev: str | None = None, repo: str | Path = ".") -> dict[str, Any] | None:
    """dvc.lock in the work tree (rev None) or at commit `rev`; None when there is none."""
    import yaml  # here: the server imports this module (through the registry) and reads no lock to serve a bundle

    if rev is None:
        lock_file = Path(repo) / paths.LOCK_FILE
        raw = lock_file.read_bytes() if lock_file.is_file() else None
    else:
        raw = git_bytes(paths.LOCK_FILE, rev, repo)
    lock = yaml.safe_load(raw) if raw else None
    return lock if isinstance(lock, dict) else None


def locked_md5(path: Path, rev: str | None = None, repo: str | Path = ".") -> str | None:
    """The md5 that dvc.lock (in the work tree, or at `rev`) records for output `path`."""
    for stage in ((read_lock(rev, repo) or {}).get("stages") or {}).values():
        for out in stage.get("outs", []):
            if out.get("path") == path.as_posix():
                return out.get("md5")
    return None


def uncommitted_results() -> list[str]:
    """dvc.lock and the Git-tracked outputs whose work-tree content is not HEAD's (new files included).

    Right after a reproduction, anything listed means the commit's lock is stale
    or missing, or a committed output was edited by hand.
    """
    listed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", *(p.as_posix() for p in COMMITTED_RESULTS)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line[3:].strip('"') for line in listed.splitlines())


def not_in_remote(remote: str | None = None) -> list[str]:
    """The DVC-cached outputs of the work tree's dvc.lock that the remote does not hold."""
    from dvc.repo import Repo

    with Repo(".") as repo:
        status = repo.status(cloud=True, remote=remote)
    return sorted(name for name, state in status.items() if state in ("new", "missing"))


def require_published(remote: str | None = None) -> None:
    """Raise PipelineError unless the reproduced outputs are the commit's and the remote holds them."""
    stale = uncommitted_results()
    if stale:
        raise PipelineError(
            f"this commit's dvc.lock and outputs are not what its code, params and data produce "
            f"(after reproducing, {', '.join(stale)} differ): {FIX_STALE}"
        )
    missing = not_in_remote(remote)
    if missing:
        raise PipelineError(f"the DVC remote does not hold {', '.join(missing)}: `make push` first")
