"""The stand-in for skops' lists of trusted types: the same judgement as skops' own lists, without listing.

This process imported skops with its own lists (test_persistence imports skops.io),
so each check of the stand-in runs in a fresh process, as `lockstep serve` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline

from lockstep.config import Params
from lockstep.data.prepare import PreparedData
from lockstep.modeling import skops_trust
from lockstep.modeling.persistence import save_model
from lockstep.modeling.train import train_model

from tests.shared import replace
from tests.unit.modeling.test_persistence import _popen_file, _record

SKOPS_OWN_LISTS = """
import json, warnings
warnings.simplefilter("ignore")
import skops.io._trusted_types as lists
print(json.dumps({name: sorted(value) for name, value in vars(lists).items() if name.endswith("_TYPE_NAMES")}))
"""
# Load a model in a fresh process, and save it again beside it: what skops' stand-in was told, and whether
# scikit-learn was listed.
LOAD = """
import json, sys
from pathlib import Path
from lockstep.errors import PipelineError
from lockstep.modeling.persistence import load_model, save_model
from lockstep.modeling.skops_trust import STAND_IN
path, types = Path(sys.argv[1]), Path(sys.argv[2])
try:
    model = load_model(path, types)
    refused = None
except PipelineError as exc:
    refused = str(exc)
else:
    save_model(model, path.with_suffix(".again"), types.with_suffix(".again"))
lists = sys.modules[STAND_IN]
print(json.dumps({
    "refused": refused,
    "stand_in": getattr(lists, "IS_STAND_IN", False),
    "trusted_by_default": sorted(lists.SKLEARN_ESTIMATOR_TYPE_NAMES + lists.SKLEARN_INTERNAL_TYPE_NAMES),
    "listed": "sklearn.utils._testing" in sys.modules,
}))
"""


def _load_in_fresh_process(path: Path, types: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", LOAD, str(path), str(types)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def skops_own_lists() -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", SKOPS_OWN_LISTS], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_the_stand_in_has_skops_lists_but_those_it_fills_per_file(skops_own_lists: dict[str, list[str]]) -> None:
    stand_in = vars(skops_trust.stand_in())
    assert {name for name in stand_in if name.endswith("_TYPE_NAMES")} == set(skops_own_lists)
    filled = {"SKLEARN_ESTIMATOR_TYPE_NAMES", "SKLEARN_INTERNAL_TYPE_NAMES"}
    never = {"NUMPY_UFUNC_TYPE_NAMES", "SCIPY_UFUNC_TYPE_NAMES"}  # functions: persistence refuses every one
    for name, own in skops_own_lists.items():
        assert sorted(stand_in[name]) == ([] if name in filled | never else own), name


def test_a_type_is_trusted_by_default_exactly_when_skops_lists_it(skops_own_lists: dict[str, list[str]]) -> None:
    estimators = set(skops_own_lists["SKLEARN_ESTIMATOR_TYPE_NAMES"])
    assert {name for name in estimators if skops_trust._is_listed_estimator(name)} == estimators
    internal = {f"{module}.{name}" for module, names in skops_trust.SKLEARN_INTERNAL.items() for name in names}
    assert internal == set(skops_own_lists["SKLEARN_INTERNAL_TYPE_NAMES"])
    not_listed = [
        "sklearn.base.BaseEstimator",  # all_estimators leaves it out by name
        "sklearn.base.TransformerMixin",  # not an estimator
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",  # skops records it
        "sklearn.linear_model._base.LinearModel",  # abstract
        "sklearn.utils._testing.MinimalClassifier",  # an estimator in a private module only
        "sklearn.no_such_module.LogisticRegression",
        "numpy.dtype",
    ]
    assert not [name for name in not_listed if skops_trust._is_listed_estimator(name)]


@pytest.mark.parametrize(
    "estimator",
    [
        None,  # the default model, as trained by the fixture
        {"_target_": "sklearn.ensemble.HistGradientBoostingClassifier", "max_iter": 5, "random_state": 0},
        {"_target_": "sklearn.ensemble.RandomForestClassifier", "n_estimators": 3, "random_state": 0},
    ],
)
def test_a_model_loads_and_saves_in_a_fresh_process_as_with_skops_lists_without_listing(
    tmp_path: Path, trained: Pipeline, prepared: PreparedData, cfg: Params, estimator: dict | None
) -> None:
    model = (
        trained if estimator is None else train_model(prepared.train, prepared.features, replace(cfg, model=estimator))
    )
    path, types = tmp_path / "model.skops", tmp_path / "trusted_types.json"
    save_model(model, path, types)  # with skops' own lists: this process imported skops before
    loaded = _load_in_fresh_process(path, types)
    assert loaded["refused"] is None  # the file's types equal the record, judged with the stand-in
    assert types.with_suffix(".again").read_text() == types.read_text()  # and the same record when saved with it
    assert loaded["stand_in"]
    assert not loaded["listed"]
    in_model = {f"{type(step).__module__}.{type(step).__name__}" for step in _steps(model)}
    assert in_model <= set(loaded["trusted_by_default"])


def test_the_exploits_are_refused_with_the_stand_in_too(tmp_path: Path, trained: Pipeline) -> None:
    marker = tmp_path / "pwned"
    path, types = tmp_path / "model.skops", tmp_path / "trusted_types.json"
    save_model(trained, path, types)
    path.write_bytes(_popen_file(marker))  # the model replaced, the record left as training wrote it
    assert _load_in_fresh_process(path, types)["refused"] == (
        f"{path} holds types that differ from those recorded in {types} at train time "
        "(e.g. numpy.distutils.fcompiler.gnu.Popen): restore both (`dvc checkout`) or retrain"
    )
    _record(types, ["numpy.distutils.fcompiler.gnu.Popen"])  # and with a forged record
    assert _load_in_fresh_process(path, types)["refused"] == (
        f"{path} holds a type that is not trusted: type 'numpy.distutils.fcompiler.gnu.Popen' is "
        "subprocess.Popen, which is not from a trusted library (sklearn, numpy, scipy)"
    )
    assert not marker.exists()


def _steps(model: object) -> list[object]:
    """The estimators a Pipeline is made of, nested ones too."""
    found = [model]
    for _, step in getattr(model, "steps", []):
        found += _steps(step)
    for _, transformer, _ in getattr(model, "transformers_", []):
        if not isinstance(transformer, str):
            found += _steps(transformer)
    return found
