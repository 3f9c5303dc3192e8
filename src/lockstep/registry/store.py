"""Store: the one place that loads "model version X", verified, with its contract.

A version is named by a bundle folder (what the `bundle` command writes), a
registered GTO version (`v0.3.0`), a stage (`prod`), or `workspace` (the
checked-out model). Whatever the name, the hashes of the model file, its
trusted types and its contract (and its monitoring reference, for a version
trained since evaluate writes one) are checked against the record of that version
(the bundle's manifest, or the `dvc.lock` of the commit the version was
registered on, via `lockfile`) before anything is loaded; the model is loaded
with exactly its recorded types and comes back with the contract it was trained
under. Batch scoring, the HTTP API and the bundle all load models here
(evaluate loads the model it has just trained); nothing else reads model files.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import PACKAGE, paths
from ..contract.model_contract import ModelContract, read_contract
from ..errors import PipelineError
from ..io import file_sha256

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import pandas as pd

    from ..evaluation.reference import MonitoringReference
    from .revision import Revision

WORKSPACE = "workspace"
SEMVER = re.compile(r"^v\d+\.\d+\.\d+$")
MANIFEST = "manifest.json"
# What a model version is made of; dvc.lock records each, and a bundle carries each.
MODEL_FILES = (paths.MODEL_FILE, paths.MODEL_TYPES, paths.MODEL_CONTRACT)
# Verified like them when the version's record has it; a version trained before evaluate wrote it has none.
REFERENCE = paths.MONITORING_REFERENCE


@dataclass(frozen=True)
class ModelVersion:
    """A loaded, verified model and what is known about it."""

    model: Any
    contract: ModelContract
    version: str
    sha256: str  # of the model file's bytes
    # What serving scores with: the linear fast path where it matches the model, else the model itself.
    scorer: Any
    # The monitoring reference's verified bytes, parsed only when asked for (`reference`): not on serving's start.
    reference_bytes: bytes | None = field(default=None, repr=False, compare=False)

    @cached_property
    def reference(self) -> MonitoringReference | None:
        """The monitoring reference (training profile and the estimate's calibration), or None for an older version."""
        if self.reference_bytes is None:
            return None
        from ..evaluation.reference import MonitoringReference

        try:
            return MonitoringReference.from_json(self.reference_bytes)
        except (ValueError, KeyError, TypeError) as exc:
            raise PipelineError(f"the monitoring reference of {self.version} cannot be read ({exc})") from None

    def predict(self, inputs: Mapping[str, np.ndarray] | pd.DataFrame) -> dict[str, np.ndarray]:
        """`predict_columns` with the scorer: batch scoring and the API both predict here, so they agree bit for bit."""
        from ..modeling.predict import predict_columns

        return predict_columns(self.scorer, inputs, self.contract, one_worker_set=True)


class EmptyStageError(PipelineError):
    """A stage of the registry holds no version (a rollback or a promotion unassigned it)."""


def load_version(ref: str, repo: Path = paths.PROJ_ROOT) -> ModelVersion:
    """Load the model `ref` names (bundle folder, version, stage or `workspace`), or raise PipelineError.

    A stage that holds no version raises EmptyStageError, a PipelineError.
    """
    if (Path(ref) / MANIFEST).is_file():
        return _load_bundle(Path(ref))
    if ref == WORKSPACE:
        return _load_files(lambda path: _read_file(repo / path), None, repo, WORKSPACE)
    version = ref if SEMVER.match(ref) else resolve_stage(ref, repo)
    commit = _version_commit(repo, version)
    from .revision import Revision

    with Revision(commit, repo) as revision:  # its DVC file system is opened once for the three files
        return _load_files(_revision_reader(revision, version), commit, repo, version)


def load_at_commit(commit: str, label: str, repo: Path = paths.PROJ_ROOT) -> ModelVersion:
    """Load the model committed at `commit` (a base branch's, say), verified against that commit's dvc.lock."""
    from .revision import Revision

    with Revision(commit, repo) as revision:
        return _load_files(_revision_reader(revision, label), commit, repo, label)


def resolve_stage(stage: str, repo: Path = paths.PROJ_ROOT) -> str:
    """The version in `stage`: EmptyStageError if it holds none, PipelineError if there is no registry to ask."""
    from gto.exceptions import GTOException
    from scmrepo.exceptions import SCMError

    from .tags import stage_version

    refused = f"{stage!r} is not a bundle folder, a version (v1.2.3), a stage with a model in it, or {WORKSPACE!r}"
    try:
        version = stage_version(str(repo), stage)
    except (GTOException, SCMError):  # no model registered yet, or no Git repository
        raise PipelineError(refused) from None
    if version is None:
        raise EmptyStageError(refused)
    return version


def _version_commit(repo: Path, version: str) -> str:
    from gto.exceptions import GTOException

    from .tags import version_commit

    try:
        return version_commit(str(repo), version)
    except GTOException as exc:  # no Git repository, or a registry GTO cannot read
        raise PipelineError(f"{repo} has no model registry ({str(exc).splitlines()[0]}): `git fetch --tags`") from None


def _revision_reader(revision: Revision, version: str) -> Callable[[Path], bytes]:
    """Read files as committed with `version` (DVC-tracked ones from the cache or the remote)."""

    def read(path: Path) -> bytes:
        try:
            return revision.dvc(path)
        except Exception as exc:  # not in the cache nor the remote, no credentials: one message for all
            raise PipelineError(f"{path} of {version} cannot be read ({type(exc).__name__}): `dvc pull` it") from None

    return read


def _read_file(path: Path) -> bytes:
    if not path.is_file():
        raise PipelineError(f"{path} not found: `dvc pull {path}` or run the pipeline first")
    return path.read_bytes()


def _load_files(read: Callable[[Path], bytes], commit: str | None, repo: Path, version: str) -> ModelVersion:
    """Read the model files with `read`, check each against the dvc.lock of `commit` (None: the work tree's), load."""
    from ..io import file_md5
    from .lockfile import locked_md5

    with tempfile.TemporaryDirectory(prefix=f"{PACKAGE}-model-") as scratch:
        folder = Path(scratch)
        for path in (*MODEL_FILES, REFERENCE):
            expected = locked_md5(path, commit, repo)
            if expected is None and path == REFERENCE:
                continue
            if expected is None:
                raise PipelineError(f"the dvc.lock of {version} records no {path}: serve a version trained since")
            (folder / path.name).write_bytes(read(path))
            actual = file_md5(folder / path.name)
            if actual != expected:
                raise PipelineError(f"{path} of {version} does not match its dvc.lock ({actual} != {expected})")
        reference = folder / REFERENCE.name
        return load_verified(folder, version, reference.read_bytes() if reference.is_file() else None)


def _load_bundle(folder: Path) -> ModelVersion:
    """A bundle: its files must match the hashes its manifest records."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        recorded = {
            paths.MODEL_FILE.name: manifest["model"]["sha256"],
            paths.MODEL_CONTRACT.name: manifest["contract"]["sha256"],
            paths.MODEL_TYPES.name: manifest["trusted_types"]["sha256"],
        }
        if "reference" in manifest:  # a bundle of a version trained before evaluate wrote it has none
            recorded[REFERENCE.name] = manifest["reference"]["sha256"]
        version = str(manifest["version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PipelineError(
            f"{folder / MANIFEST} is not a bundle manifest ({exc}): rebuild it with `{PACKAGE} bundle`"
        ) from None
    for name, sha256 in recorded.items():
        if not (folder / name).is_file():
            raise PipelineError(f"bundle {folder} has no {name}: rebuild it with `{PACKAGE} bundle`")
        if file_sha256(folder / name) != sha256:
            raise PipelineError(
                f"{folder / name} does not match the bundle's manifest: rebuild it with `{PACKAGE} bundle`"
            )
    reference = (folder / REFERENCE.name).read_bytes() if REFERENCE.name in recorded else None
    return load_verified(folder, version, reference)


def load_verified(folder: Path, version: str, reference: bytes | None = None) -> ModelVersion:
    """Load the model, trusted types and contract in `folder`, whose bytes the caller has verified.

    The only call of the model loader: the model must hold exactly the types
    recorded at train time, from the libraries its contract names, and be
    trained on its contract's columns. It comes back set up to predict: one
    worker for good (`use_one_prediction_worker`), and the linear fast path as
    its scorer where that matches it (`serving_scorer`). `reference`: the monitoring reference's verified bytes.
    """
    from ..modeling.linear import serving_scorer
    from ..modeling.persistence import load_model, recorded_types
    from ..numerics import use_one_prediction_worker

    model_file, types_file = folder / paths.MODEL_FILE.name, folder / paths.MODEL_TYPES.name
    contract = read_contract(folder / paths.MODEL_CONTRACT.name)
    if sorted(recorded_types(types_file)) != sorted(contract.trusted_types):
        raise PipelineError(f"the contract and trusted types of {version} are from different trainings: retrain it")
    model = load_model(model_file, types_file, contract.model_libraries)
    if hasattr(model, "feature_names_in_") and list(model.feature_names_in_) != contract.feature_names:
        raise PipelineError(f"the model of {version} was not trained on its contract's columns: retrain it")
    use_one_prediction_worker(model)  # it only predicts from now on
    scorer = serving_scorer(model, contract)
    return ModelVersion(model, contract, version, file_sha256(model_file), scorer, reference)
