"""Deploy: package the checked-out model version into a verified bundle.

The deploy workflow checks out the version's tag, pulls the model from the
DVC remote and calls `write_bundle`; the bundle is what a serving system
picks up. It refuses a model that does not load or does not match dvc.lock.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import yaml

from . import paths
from .errors import PipelineError
from .io import atomic_dir, file_sha256, read_json, write_json


def locked_md5(path: Path, lock_file: Path = Path("dvc.lock")) -> str | None:
    """The md5 that dvc.lock records for output `path`."""
    lock = yaml.safe_load(lock_file.read_text(encoding="utf-8"))
    for stage in lock.get("stages", {}).values():
        for out in stage.get("outs", []):
            if out["path"] == path.as_posix():
                return out.get("md5")
    return None


def write_bundle(out_dir: Path, version: str, stage: str) -> dict[str, Any]:
    """Copy the model and its card into `out_dir` with a manifest; return the manifest."""
    from .modeling.persistence import load_model

    if not paths.MODEL_FILE.is_file():
        raise PipelineError(f"{paths.MODEL_FILE} is missing: `dvc pull {paths.MODEL_FILE}` first")
    expected = locked_md5(paths.MODEL_FILE)
    actual = hashlib.md5(paths.MODEL_FILE.read_bytes(), usedforsecurity=False).hexdigest()
    if expected != actual:
        raise PipelineError(f"{paths.MODEL_FILE} does not match dvc.lock ({actual} != {expected}): `dvc checkout`")
    if not paths.MODEL_CARD.is_file():
        raise PipelineError(f"{paths.MODEL_CARD} is missing: `dvc pull {paths.MODEL_CARD}` first")
    card_md5 = hashlib.md5(paths.MODEL_CARD.read_bytes(), usedforsecurity=False).hexdigest()
    if card_md5 != locked_md5(paths.MODEL_CARD):
        raise PipelineError(f"{paths.MODEL_CARD} does not match dvc.lock: `dvc checkout`")
    load_model(paths.MODEL_FILE)  # refuses untrusted types, fails on a corrupt file
    if locked_md5(paths.MODEL_CONTRACT) != _md5_of(paths.MODEL_CONTRACT):
        raise PipelineError(f"{paths.MODEL_CONTRACT} is missing or does not match dvc.lock: `dvc pull` it")
    card = read_json(paths.MODEL_CARD)
    manifest = {
        "artifact": "model",
        "version": version,
        "stage": stage,
        "model": {"file": paths.MODEL_FILE.name, "sha256": file_sha256(paths.MODEL_FILE)},
        "card": paths.MODEL_CARD.name,
        "contract": {"file": paths.MODEL_CONTRACT.name, "sha256": file_sha256(paths.MODEL_CONTRACT)},
        "metrics": card.get("metrics", {}),
    }
    with atomic_dir(out_dir) as staging:
        shutil.copyfile(paths.MODEL_FILE, staging / paths.MODEL_FILE.name)
        shutil.copyfile(paths.MODEL_CARD, staging / paths.MODEL_CARD.name)
        shutil.copyfile(paths.MODEL_CONTRACT, staging / paths.MODEL_CONTRACT.name)
        write_json(manifest, staging / "manifest.json")
    return manifest


def _md5_of(path: Path) -> str | None:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() if path.is_file() else None
