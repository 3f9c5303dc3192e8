from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from lockstep.errors import PipelineError
from lockstep.modeling.estimator import build_estimator

LOGISTIC = {"_target_": "sklearn.linear_model.LogisticRegression", "C": 0.5, "max_iter": 200}


def test_builds_the_estimator_with_its_hyperparameters() -> None:
    estimator = build_estimator(LOGISTIC, "binary")
    assert isinstance(estimator, LogisticRegression)
    assert estimator.get_params()["C"] == 0.5


@pytest.mark.parametrize(
    ("model", "task", "message"),
    [
        (
            {"_target_": "sklearn.ensemble.XGBoostClassifier"},
            "binary",
            "'sklearn.ensemble.XGBoostClassifier' cannot be imported; fix the path, or install its library",
        ),
        (
            {"_target_": "nonexistent_package.Model"},
            "binary",
            r"model._target_ 'nonexistent_package.Model' is not from a trusted library \(sklearn\)",
        ),
        (LOGISTIC | {"C": "abc"}, "binary", "The 'C' parameter of LogisticRegression must be"),
        (LOGISTIC | {"C": -1.0}, "binary", "The 'C' parameter of LogisticRegression must be"),
        (LOGISTIC | {"depth": 3}, "binary", "LogisticRegression rejects its parameters"),
        ({"_target_": "sklearn.pipeline.make_pipeline"}, "binary", "is a function, not a class"),
        ({"_target_": "sklearn.utils.Bunch"}, "binary", "is not a scikit-learn estimator"),
        (LOGISTIC, "regression", "is not a regressor but the task is regression; try -S model=ridge"),
        ({"_target_": "sklearn.linear_model.Ridge"}, "multiclass", "is not a classifier but the task is multiclass"),
    ],
)
def test_bad_model_configs_get_a_one_line_error(model: dict, task: str, message: str) -> None:
    with pytest.raises(PipelineError, match=message) as error:
        build_estimator(model, task)
    assert "\n" not in str(error.value)


def test_a_fit_that_fails_is_a_one_line_error() -> None:
    import pandas as pd
    import yaml

    from lockstep.config import parse_params
    from lockstep.data.prepare import prepare_data
    from lockstep.data.synthetic import generate_credit_data
    from lockstep.modeling.train import train_model

    from tests.conftest import REPO_ROOT
    from tests.shared import replace

    cfg = parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))
    prepared = prepare_data(generate_credit_data(2_000, seed=1), cfg)
    l1_with_lbfgs = replace(cfg, model=LOGISTIC | {"penalty": "l1", "solver": "lbfgs"})
    with pytest.raises(PipelineError, match="model: LogisticRegression cannot be fitted") as error:
        train_model(prepared.train, prepared.features, l1_with_lbfgs)
    assert "\n" not in str(error.value)
    assert isinstance(prepared.train, pd.DataFrame)


def _marker_configs(marker: Path) -> dict[str, dict]:
    """Configs that would run a command or touch a file if they were instantiated before being checked."""
    command = f"touch {marker}"
    return {
        "Popen": {"_target_": "subprocess.Popen", "args": command, "shell": True},
        "os.system": {"_target_": "os.system", "_args_": [command]},
        "open for writing": {"_target_": "builtins.open", "file": str(marker), "mode": "w"},
        "re-exported Popen": {"_target_": "numpy.distutils.fcompiler.gnu.Popen", "args": command, "shell": True},
        "nested Popen": {
            "_target_": "sklearn.ensemble.BaggingClassifier",
            "estimator": {"_target_": "subprocess.Popen", "args": command, "shell": True},
        },
        "a function of a trusted library": {"_target_": "sklearn.utils._testing.check_output", "args": command},
    }


EXPECTED = {
    "Popen": "model._target_ 'subprocess.Popen' is not from a trusted library (sklearn); see extra_model_libraries",
    "os.system": "model._target_ 'os.system' is not from a trusted library (sklearn); see extra_model_libraries",
    "open for writing": "model._target_ 'builtins.open' is not from a trusted library (sklearn); see "
    "extra_model_libraries",
    "re-exported Popen": "model._target_ 'numpy.distutils.fcompiler.gnu.Popen' is subprocess.Popen, which is not "
    "from a trusted library (sklearn, numpy)",
    "nested Popen": "model.estimator._target_ 'subprocess.Popen' is not from a trusted library (sklearn); "
    "see extra_model_libraries",
    "a function of a trusted library": "model._target_ 'sklearn.utils._testing.check_output' is a function, not a "
    "class; functions are never trusted",
}


@pytest.mark.parametrize("case", EXPECTED)
def test_a_target_is_checked_before_anything_runs(tmp_path: Path, case: str) -> None:
    marker = tmp_path / "marker"
    if case == "open for writing":
        marker.write_text("precious")
    # numpy is trusted here to get past the library check: the check of the class itself must still refuse.
    extra = ["numpy"] if case == "re-exported Popen" else []
    with pytest.raises(PipelineError) as error:
        build_estimator(_marker_configs(marker)[case], "binary", extra)
    assert str(error.value) == EXPECTED[case]
    if case == "open for writing":
        assert marker.read_text() == "precious"
    else:
        assert not marker.exists()


def test_nested_targets_are_built_after_the_check() -> None:
    bagging = {
        "_target_": "sklearn.ensemble.BaggingClassifier",
        "estimator": {"_target_": "sklearn.tree.DecisionTreeClassifier", "max_depth": 3},
        "n_estimators": 4,
    }
    estimator = build_estimator(bagging, "binary")
    assert isinstance(estimator.estimator, DecisionTreeClassifier)
    assert estimator.estimator.max_depth == 3


def test_one_setting_adds_a_library_for_targets_and_model_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prepared, cfg
) -> None:
    """extra_model_libraries lets _target_ name the library's estimator, and a model file hold its types."""
    from lockstep.contract.trust import model_libraries
    from lockstep.modeling.persistence import load_model, save_model
    from lockstep.modeling.train import train_model

    from tests.shared import replace

    package = tmp_path / "boostlib"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n\n\n"
        "class BoostClassifier(LogisticRegression):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    model = {"_target_": "boostlib.BoostClassifier", "max_iter": 300}
    with pytest.raises(PipelineError, match="'boostlib.BoostClassifier' is not from a trusted library"):
        build_estimator(model, "binary")
    with_library = replace(cfg, model=model, extra_model_libraries=["boostlib"])
    pipeline = train_model(prepared.train, prepared.features, with_library)
    path, types = tmp_path / "model.skops", tmp_path / "trusted_types.json"
    with pytest.raises(PipelineError, match="type 'boostlib.BoostClassifier' is not from a trusted library"):
        save_model(pipeline, path, types)
    assert save_model(pipeline, path, types, model_libraries(["boostlib"])) == [
        "boostlib.BoostClassifier",
        "numpy.dtype",
    ]
    with pytest.raises(PipelineError, match="type 'boostlib.BoostClassifier' is not from a trusted library"):
        load_model(path, types)
    assert type(load_model(path, types, model_libraries(["boostlib"])).named_steps["model"]).__name__ == (
        "BoostClassifier"
    )
