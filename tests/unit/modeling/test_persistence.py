from __future__ import annotations

import importlib
import io
import json
import shlex
import subprocess
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from lockstep.config import Params
from lockstep.data.prepare import PreparedData
from lockstep.errors import PipelineError
from lockstep.modeling.persistence import canonical_skops, load_model, save_model
from lockstep.modeling.train import train_model

from tests.shared import replace

# A class that a trusted library re-exports: numpy.distutils.fcompiler.gnu imports subprocess.Popen.
REEXPORTED_POPEN = ("numpy.distutils.fcompiler.gnu", "Popen")


def _save(model: object, folder: Path) -> tuple[Path, Path]:
    path, types = folder / "model.skops", folder / "trusted_types.json"
    save_model(model, path, types)
    return path, types


def _popen_file(marker: Path, module: str = REEXPORTED_POPEN[0], name: str = REEXPORTED_POPEN[1]) -> bytes:
    """A crafted skops file that calls Popen("touch <marker>", shell=True) when it is loaded with trust."""
    # Popen(args, bufsize, executable, stdin, stdout, stderr, preexec_fn, close_fds, shell)
    arguments = (f"touch {shlex.quote(str(marker))}", -1, None, None, None, None, None, True, True)
    schema = json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps(arguments))).read("schema.json"))
    version = {key: schema.pop(key) for key in ("protocol", "_skops_version")}
    crafted = {"__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode", "content": schema}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("schema.json", json.dumps(crafted | version))
    return out.getvalue()


def _record(types_file: Path, types: list[str]) -> None:
    types_file.write_text(json.dumps({"format": "skops", "trusted_types": types}))


def test_equal_models_give_equal_bytes(tmp_path: Path, prepared: PreparedData, cfg: Params) -> None:
    boosting = {"_target_": "sklearn.ensemble.HistGradientBoostingClassifier", "max_iter": 20, "random_state": 0}
    cfg = replace(cfg, model=boosting)
    first, second = (train_model(prepared.train, prepared.features, cfg) for _ in range(2))
    assert sio.dumps(first) != sio.dumps(second)  # why canonical_skops exists
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, a_types = _save(first, tmp_path / "a")
    b, _ = _save(second, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    recorded = json.loads(a_types.read_text())["trusted_types"]
    assert recorded == sio.get_untrusted_types(file=a)
    assert "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" in recorded


def test_canonical_file_loads_to_the_same_predictions(
    tmp_path: Path, trained: Pipeline, prepared: PreparedData
) -> None:
    path, types = _save(trained, tmp_path)
    inputs = prepared.test[prepared.features.columns]
    np.testing.assert_array_equal(load_model(path, types).predict_proba(inputs), trained.predict_proba(inputs))
    with zipfile.ZipFile(path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "schema.json" in archive.namelist()


def test_canonical_form_is_stable(trained: Pipeline) -> None:
    once = canonical_skops(sio.dumps(trained))
    assert canonical_skops(once) == once


def test_the_crafted_file_is_a_real_exploit(tmp_path: Path) -> None:
    """The control for the tests below: loaded with skops' own trust, the crafted file runs its command."""
    marker = tmp_path / "pwned"
    data = _popen_file(marker)
    assert sio.get_untrusted_types(data=data) == ["numpy.distutils.fcompiler.gnu.Popen"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        process = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert isinstance(process, subprocess.Popen)
    process.wait()
    assert marker.exists()


def test_a_reexported_popen_is_refused_even_with_a_forged_record(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path, types = tmp_path / "model.skops", tmp_path / "trusted_types.json"
    path.write_bytes(_popen_file(marker))
    _record(types, ["numpy.distutils.fcompiler.gnu.Popen"])
    with pytest.raises(PipelineError) as error:
        load_model(path, types)
    assert str(error.value) == (
        f"{path} holds a type that is not trusted: type 'numpy.distutils.fcompiler.gnu.Popen' is "
        "subprocess.Popen, which is not from a trusted library (sklearn, numpy, scipy)"
    )
    assert not marker.exists()


def test_a_type_that_training_did_not_record_is_refused(tmp_path: Path, trained: Pipeline) -> None:
    marker = tmp_path / "pwned"
    path, types = _save(trained, tmp_path)
    path.write_bytes(_popen_file(marker))  # the model replaced, the record left as training wrote it
    with pytest.raises(PipelineError) as error:
        load_model(path, types)
    assert str(error.value) == (
        f"{path} holds types that differ from those recorded in {types} at train time "
        "(e.g. numpy.distutils.fcompiler.gnu.Popen): restore both (`dvc checkout`) or retrain"
    )
    assert not marker.exists()


def test_a_module_outside_the_trusted_libraries_is_never_imported(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path, types = tmp_path / "model.skops", tmp_path / "trusted_types.json"
    path.write_bytes(_popen_file(marker, "subprocess", "Popen"))
    _record(types, ["subprocess.Popen"])
    with pytest.raises(PipelineError, match=r"type 'subprocess.Popen' is not from a trusted library \(sklearn, "):
        load_model(path, types)
    assert not marker.exists()


def test_function_transformer_payloads_are_refused(tmp_path: Path) -> None:
    """The audit's chain: full_like fills in the command, ravel flattens it, Popen runs it."""
    marker = tmp_path / "pwned"
    popen = importlib.import_module(REEXPORTED_POPEN[0]).Popen
    chain = Pipeline(
        [
            ("fill", FunctionTransformer(np.full_like, kw_args={"fill_value": f"touch {marker}"})),
            ("flatten", FunctionTransformer(np.ravel)),
            ("run", FunctionTransformer(popen, kw_args={"shell": True})),
        ]
    )
    path, types = tmp_path / "model.skops", tmp_path / "trusted_types.json"
    path.write_bytes(sio.dumps(chain))
    _record(types, sio.get_untrusted_types(data=path.read_bytes()))
    with pytest.raises(PipelineError) as error:
        load_model(path, types)
    assert str(error.value) == (
        f"{path} holds the function numpy.full_like (FunctionNode): functions, such as FunctionTransformer "
        "payloads, are never loaded; use transformer classes in the Pipeline"
    )
    with pytest.raises(PipelineError, match="holds the function numpy.full_like"):
        _save(chain, tmp_path)  # and train refuses to write a model it would not load
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"not a zip file at all", b"PK\x03\x04truncated"])
def test_a_file_that_is_not_a_skops_zip_is_one_line(tmp_path: Path, trained: Pipeline, content: bytes) -> None:
    path, types = _save(trained, tmp_path)
    path.write_bytes(content)
    with pytest.raises(PipelineError) as error:
        load_model(path, types)
    assert str(error.value) == (
        f"{path} is not a skops model file (truncated or corrupt): restore it (`dvc checkout`) or retrain"
    )


def test_a_truncated_model_is_one_line(tmp_path: Path, trained: Pipeline) -> None:
    path, types = _save(trained, tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(PipelineError, match="is not a skops model file \\(truncated or corrupt\\)"):
        load_model(path, types)


def test_a_missing_record_says_to_retrain(tmp_path: Path, trained: Pipeline) -> None:
    path, types = _save(trained, tmp_path)
    types.unlink()
    with pytest.raises(PipelineError, match="trusted_types.json not found: the train stage records it"):
        load_model(path, types)


def test_missing_model_file_says_which_stage_to_run(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="run the train stage first"):
        load_model(tmp_path / "model.skops", tmp_path / "trusted_types.json")
