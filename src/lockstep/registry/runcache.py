"""Share the run-cache's Git-tracked outputs too, so a stage is restorable anywhere.

DVC's run-cache keeps a copy of a stage's `cache: false` outputs (our metrics
and plots) in the local cache, but `dvc push/pull --run-cache` move only the
objects of cached outputs (see treeverse/dvc#8738). On another machine, the
run-cache entry for `evaluate` then points at objects that are nowhere, and a
re-run of the same pull request executes `evaluate` again. `push` and `pull`
here move those few small objects, for every run-cache entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo


def git_tracked_outputs(repo: Repo) -> set[str]:
    """The paths of every stage output declared with `cache: false`."""
    return {out.def_path for stage in repo.index.stages for out in stage.outs if not out.use_cache}


def run_cache_objects(repo: Repo) -> set[HashInfo]:
    """The objects of Git-tracked outputs recorded by any run-cache entry."""
    from dvc_data.hashfile.hash_info import HashInfo

    tracked = git_tracked_outputs(repo)
    runs = Path(repo.stage_cache.cache_dir)
    found = set()
    for entry in sorted(runs.rglob("*")) if runs.is_dir() else []:
        if entry.is_file():
            for out in (yaml.safe_load(entry.read_text()) or {}).get("outs", []):
                if out.get("path") in tracked and out.get("md5"):
                    found.add(HashInfo("md5", out["md5"]))
    return found


def push(repo: Repo, remote: str | None = None) -> int:
    """Upload the run-cache's Git-tracked outputs that the local cache has; return how many."""
    local = repo.cache.local
    present = {obj for obj in run_cache_objects(repo) if local.exists(obj.value)}
    return len(repo.cloud.push(present, remote=remote).transferred) if present else 0


def pull(repo: Repo, remote: str | None = None) -> int:
    """Download the run-cache's Git-tracked outputs that the local cache lacks; return how many."""
    local = repo.cache.local
    missing = {obj for obj in run_cache_objects(repo) if not local.exists(obj.value)}
    return len(repo.cloud.pull(missing, remote=remote).transferred) if missing else 0
