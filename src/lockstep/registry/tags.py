"""Model registry: GTO tags over the `model` artifact declared in dvc.yaml.

A version is an annotated tag `model@vX.Y.Z` on the commit that produced the
model; a stage is a tag `model#<stage>#N`. A new version is registered only
when the model's bytes (the md5 in dvc.lock) differ from the latest version's,
so a merge that leaves the model alone, or a re-run, adds no tag.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from .. import paths
from ..config import Stage
from ..errors import PipelineError
from .lockfile import locked_md5

ARTIFACT = "model"
PROD = Stage.PROD  # the stage whose version serves; a rollout's candidate is in `canary` or `shadow`
FIRST_VERSION = "v0.1.0"
log = logging.getLogger(__name__)


def versions_of(repo: str, artifact: str) -> list[dict[str, Any]]:
    """GTO's record of every version of `artifact` (none when no tag names it yet)."""
    import gto.api
    from gto.exceptions import ArtifactNotFound

    try:
        return gto.api.show(repo, artifact)
    except ArtifactNotFound:  # no tag mentions it yet
        return []


def version_at(repo: str, rev: str, artifact: str = ARTIFACT) -> str | None:
    """The registered version of `artifact` at commit `rev`, if any."""
    from scmrepo.git import Git

    commit = Git(repo).resolve_rev(rev)
    found = [v["version"] for v in versions_of(repo, artifact) if v["commit_hexsha"] == commit]
    return found[-1] if found else None


def version_commit(repo: str, version: str, artifact: str = ARTIFACT) -> str:
    """The commit that `version` of `artifact` was registered on."""
    found = [v["commit_hexsha"] for v in versions_of(repo, artifact) if v["version"] == version]
    if not found:
        known = ", ".join(sorted(v["version"] for v in versions_of(repo, artifact))) or "none"
        raise PipelineError(f"{artifact} has no version {version}; registered: {known}")
    return found[0]


def _latest(versions: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(versions, key=lambda v: tuple(int(n) for n in v["version"].lstrip("v").split(".")), default=None)


def register(repo: str = ".", rev: str = "HEAD", artifact: str = ARTIFACT) -> tuple[str, bool]:
    """Register `rev` as the next version of `artifact` if its model changed; return (version, created)."""
    import gto.api

    existing = version_at(repo, rev, artifact)
    if existing:
        log.info("%s is already registered at %s as %s", artifact, rev, existing)
        return existing, False
    model_md5 = locked_md5(paths.MODEL_FILE, rev, repo)
    if model_md5 is None:
        raise PipelineError(f"dvc.lock at {rev} records no {paths.MODEL_FILE}: reproduce and commit it first")
    versions = versions_of(repo, artifact)
    latest = _latest(versions)
    if latest and locked_md5(paths.MODEL_FILE, latest["commit_hexsha"], repo) == model_md5:
        log.info("%s at %s has the bytes of %s (md5 %s): no new version", artifact, rev, latest["version"], model_md5)
        return latest["version"], False
    first = not versions
    with gto_errors():
        tag = gto.api.register(repo, artifact, rev, version=FIRST_VERSION if first else None, bump_minor=not first)
    return tag.version, True


def stage_version(repo: str, stage: str, artifact: str = ARTIFACT) -> str | None:
    """The version of `artifact` currently in `stage`, if any."""
    import gto.api

    in_stage = gto.api.find_versions_in_stage(repo, artifact, stage)
    return in_stage[-1].version if in_stage else None


def assign(repo: str, version: str, stage: str, artifact: str = ARTIFACT, message: str | None = None) -> bool:
    """Put `version` of `artifact` in `stage` (the tag's message says why); False if it was there already."""
    import gto.api

    known = {v["version"] for v in versions_of(repo, artifact)}
    if version not in known:
        raise PipelineError(f"{artifact} has no version {version}; registered: {', '.join(sorted(known)) or 'none'}")
    if stage_version(repo, stage, artifact) == version:
        log.info("%s %s is already in %s", artifact, version, stage)
        return False
    with gto_errors():
        gto.api.assign(repo, artifact, stage, version=version, message=message)
    return True


def unassign(repo: str, version: str, stage: str, message: str, artifact: str = ARTIFACT) -> None:
    """Take `version` of `artifact` out of `stage` with a tag whose message says why (GTO's `model#stage!#N`)."""
    import gto.api

    if stage_version(repo, stage, artifact) != version:
        raise PipelineError(f"{artifact} {version} is not in stage {stage!r}: nothing to unassign")
    with gto_errors():
        gto.api.unassign(repo, artifact, version=version, stage=stage, message=message)


@contextlib.contextmanager
def gto_errors() -> Iterator[None]:
    """GTO's refusals (a bad stage name, a dirty version) as one-line errors."""
    from gto.exceptions import GTOException

    try:
        yield
    except GTOException as exc:
        raise PipelineError(f"registry: {str(exc).splitlines()[0]}") from None
