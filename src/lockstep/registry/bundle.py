"""Deploy: package the checked-out model version into a verified bundle.

The deploy workflow checks out the version's tag, pulls the model from the
DVC remote and calls `write_bundle`; the bundle is what a serving system
picks up. It refuses a model, trusted types, contract, card or monitoring
reference whose bytes are not the ones that the dvc.lock of the version's own
commit records, and a model that does not load (through the one loader,
`store.load_verified`). A version trained before evaluate wrote the reference
is bundled without one.
Its `model-settings.json` lets MLServer (and so Seldon Core 2, whose Models'
storageUri is a bundle) serve it with the runtime in `serving.mlserver_runtime`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .. import PACKAGE, paths
from ..errors import PipelineError
from ..io import atomic_dir, file_md5, file_sha256, read_json, write_json
from . import tags
from .lockfile import locked_md5
from .store import MODEL_FILES, REFERENCE

MLSERVER_SETTINGS = "model-settings.json"
# The serving layer's runtime, named as MLServer imports it (a name only: this layer imports nothing above it).
MLSERVER_IMPLEMENTATION = f"{PACKAGE}.serving.mlserver_runtime.BundleRuntime"


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


def write_bundle(out_dir: Path, version: str, stage: str) -> dict[str, Any]:
    """Copy the model, its trusted types, contract, card and reference into `out_dir` with a manifest; return it."""
    from .store import load_verified

    commit = tags.version_commit(".", version)
    files = (*MODEL_FILES, paths.MODEL_CARD, *([REFERENCE] if locked_md5(REFERENCE, commit) else []))
    verified = {path: _verify(path, commit, version) for path in files}
    # Refuses a corrupt file, types that are not trusted or differ from those recorded at train time, and a
    # model that does not fit its contract; the libraries are those the version was trained with.
    loaded = load_verified(paths.MODELS_DIR, version, REFERENCE.read_bytes() if REFERENCE in verified else None)
    _ = loaded.reference  # one that does not parse is refused now, not when the monitor first reads it
    card = read_json(paths.MODEL_CARD)
    manifest = {
        "artifact": tags.ARTIFACT,
        "version": version,
        "commit": commit,
        "stage": stage,
        "model": _described(paths.MODEL_FILE, verified),
        "card": paths.MODEL_CARD.name,
        "trusted_types": _described(paths.MODEL_TYPES, verified),
        "contract": _described(paths.MODEL_CONTRACT, verified),
        "metrics": card.get("metrics", {}),
    }
    if REFERENCE in verified:
        manifest["reference"] = _described(REFERENCE, verified)
    with atomic_dir(out_dir) as staging:
        for path in verified:
            shutil.copyfile(path, staging / path.name)
        write_json(manifest, staging / "manifest.json")
        write_json(mlserver_settings(version), staging / MLSERVER_SETTINGS)
    return manifest


def mlserver_settings(version: str) -> dict[str, Any]:
    """MLServer's settings for a bundle: the runtime, and the bundle's folder (its own) as the model's URI.

    No name: MLServer takes the folder's, and Seldon's agent writes the Model's.
    """
    return {"implementation": MLSERVER_IMPLEMENTATION, "parameters": {"uri": ".", "version": version}}


def _described(path: Path, verified: dict[Path, str]) -> dict[str, str]:
    return {"file": path.name, "md5": verified[path], "sha256": file_sha256(path)}
