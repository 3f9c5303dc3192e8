"""The model registry: versions and stages (GTO tags), "load version X" verified, bundles, and dvc.lock.

- `tags`: GTO tags over the `model` artifact: register, assign, which version is where;
- `store`: load a model version by bundle, version, stage or `workspace`, verified against its record;
- `bundle`: package the checked-out version for deployment;
- `lockfile`: what dvc.lock records, and whether a commit holds what its pipeline produces;
- `runcache`: share the run-cache's Git-tracked outputs;
- `revision`: the one reader of a file at a revision.
"""

from .tags import ARTIFACT, FIRST_VERSION, PROD, assign, register, stage_version, unassign, version_at, version_commit

__all__ = [
    "ARTIFACT",
    "FIRST_VERSION",
    "PROD",
    "assign",
    "register",
    "stage_version",
    "unassign",
    "version_at",
    "version_commit",
]
