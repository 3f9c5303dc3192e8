"""The one loader of a model version: the checked-out model, and a bundle, each verified before loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline

from lockstep.contract.model_contract import ModelContract
from lockstep.errors import PipelineError
from lockstep.modeling.linear import LinearScorer
from lockstep.registry.bundle import write_bundle
from lockstep.registry.store import load_version

from tests.unit.conftest import reference_json, write_lock


def test_the_workspace_model_loads_with_its_contract(checked_out: Path, contract: ModelContract) -> None:
    loaded = load_version("workspace")
    assert loaded.version == "workspace"
    assert loaded.contract == contract
    assert isinstance(loaded.model, Pipeline)
    assert isinstance(loaded.scorer, LinearScorer)  # a logistic regression: served by the fast path


@pytest.mark.parametrize("name", ["model.skops", "trusted_types.json", "contract.json", "reference.json"])
def test_a_workspace_file_that_differs_from_dvc_lock_is_refused(checked_out: Path, name: str) -> None:
    path = Path("models") / name
    path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(PipelineError, match=f"models/{name} of workspace does not match its dvc.lock"):
        load_version("workspace")


def test_a_bundle_loads_and_names_its_version(checked_out: Path, contract: ModelContract) -> None:
    manifest = write_bundle(Path("dist/model"), "v0.1.0", "prod")
    loaded = load_version("dist/model")
    assert (loaded.version, loaded.sha256, loaded.contract) == ("v0.1.0", manifest["model"]["sha256"], contract)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: (b / "model.skops").write_bytes(b"other"), "model.skops does not match the bundle's manifest"),
        (lambda b: (b / "reference.json").write_bytes(b"{}"), "reference.json does not match the bundle's manifest"),
        (lambda b: (b / "reference.json").unlink(), "has no reference.json"),
        (lambda b: (b / "contract.json").unlink(), "has no contract.json"),
        (lambda b: (b / "manifest.json").write_text("{}"), "is not a bundle manifest"),
    ],
)
def test_a_damaged_bundle_is_refused(checked_out: Path, damage: object, message: str) -> None:
    write_bundle(Path("dist/model"), "v0.1.0", "prod")
    damage(Path("dist/model"))  # type: ignore[operator]
    with pytest.raises(PipelineError, match=message) as refused:
        load_version("dist/model")
    assert "\n" not in str(refused.value)


def test_a_contract_that_does_not_fit_the_model_is_refused(checked_out: Path, contract: ModelContract) -> None:
    raw = contract.to_dict()
    raw["columns"] = raw["columns"][::-1]
    Path("models/contract.json").write_text(json.dumps(raw))
    write_lock(Path("dvc.lock"), Path("models"))
    with pytest.raises(PipelineError, match="not trained on its contract's columns"):
        load_version("workspace")


def test_an_unknown_name_says_what_a_name_can_be(checked_out: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], check=True)
    with pytest.raises(PipelineError, match="is not a bundle folder, a version"):
        load_version("production")


def test_the_reference_is_verified_at_load_and_parsed_when_asked_for(checked_out: Path) -> None:
    write_bundle(Path("dist/model"), "v0.1.0", "prod")
    for loaded in (load_version("workspace"), load_version("dist/model")):
        assert loaded.reference_bytes == reference_json()
        assert loaded.reference is not None
        assert loaded.reference.profile.features == ["age"]
        assert loaded.reference.estimate.refusal is None


def test_loading_a_version_does_not_import_the_reference_s_modules(checked_out: Path) -> None:
    """Serving loads a version on its way to ready: the reference is parsed by the monitor, on demand."""
    import subprocess
    import sys

    from lockstep import PACKAGE

    write_bundle(Path("dist/model"), "v0.1.0", "prod")
    module = f"{PACKAGE}.evaluation.reference"
    code = (
        f"import sys\nfrom {PACKAGE}.registry.store import load_version\nloaded = load_version('dist/model')\n"
        f"print({module!r} in sys.modules, loaded.reference is not None, {module!r} in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "True"]


def test_a_reference_that_does_not_parse_is_refused_in_one_line(checked_out: Path) -> None:
    Path("models/reference.json").write_text('{"format": 99}')
    write_lock(Path("dvc.lock"), Path("models"))
    loaded = load_version("workspace")  # its bytes are the recorded ones: the model still serves
    message = r"^the monitoring reference of workspace cannot be read \(reference format 99, not 1\)$"
    with pytest.raises(PipelineError, match=message):
        _ = loaded.reference
