"""Deploy: package the checked-out model version into a verified bundle.

The deploy workflow checks out the version's tag, pulls the model from the
DVC remote and calls `write_bundle`; the bundle is what a serving system
picks up. It refuses a model or card whose bytes are not the ones that the
dvc.lock of the version's own commit records, and a model that does not load.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import paths, registry
from .errors import PipelineError
from .io import atomic_dir, file_sha256, read_json, write_json
from .lockfile import file_md5, locked_md5
from .modeling.trust import BASE_LIBRARIES


def _verify(path: Path, commit: str, version: str) -> str:
    """The md5 of `path`, which must be the one dvc.lock records at the version's commit."""
    actual = file_md5(path)
    if actual is None:
        raise PipelineError(f"{path} is missing: `dvc pull {path}` first")
    expected = locked_md5(path, commit)
    if actual != expected:
        raise PipelineError(
            f"{path} is not {version}'s: its md5 is {actual}, the version's dvc.lock ({commit[:7]}) records "
            f"{expected}; check out the tag model@{version}, then `dvc pull`"
        )
    return actual


def write_bundle(out_dir: Path, version: str, stage: str, libraries: Iterable[str] = BASE_LIBRARIES) -> dict[str, Any]:
    """Copy the model, its trusted types and its card into `out_dir` with a manifest; return the manifest."""
    from .modeling.persistence import load_model

    commit = registry.version_commit(".", version)
    model_md5 = _verify(paths.MODEL_FILE, commit, version)
    _verify(paths.MODEL_CARD, commit, version)
    _verify(paths.MODEL_TYPES, commit, version)
    # Refuses a corrupt file, and types that are not trusted or differ from those recorded at train time.
    load_model(paths.MODEL_FILE, paths.MODEL_TYPES, libraries)
    card = read_json(paths.MODEL_CARD)
    manifest = {
        "artifact": registry.ARTIFACT,
        "version": version,
        "commit": commit,
        "stage": stage,
        "model": {"file": paths.MODEL_FILE.name, "md5": model_md5, "sha256": file_sha256(paths.MODEL_FILE)},
        "card": paths.MODEL_CARD.name,
        "trusted_types": paths.MODEL_TYPES.name,
        "metrics": card.get("metrics", {}),
    }
    with atomic_dir(out_dir) as staging:
        shutil.copyfile(paths.MODEL_FILE, staging / paths.MODEL_FILE.name)
        shutil.copyfile(paths.MODEL_CARD, staging / paths.MODEL_CARD.name)
        shutil.copyfile(paths.MODEL_TYPES, staging / paths.MODEL_TYPES.name)
        write_json(manifest, staging / "manifest.json")
    return manifest
