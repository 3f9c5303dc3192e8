from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression

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
    from dataclasses import replace

    import pandas as pd
    import yaml

    from lockstep.config import parse_params
    from lockstep.data.prepare import prepare_data
    from lockstep.data.synthetic import generate_credit_data
    from lockstep.modeling.train import train_model

    from tests.conftest import REPO_ROOT

    cfg = parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))
    prepared = prepare_data(generate_credit_data(2_000, seed=1), cfg)
    l1_with_lbfgs = replace(cfg, model=LOGISTIC | {"penalty": "l1", "solver": "lbfgs"})
    with pytest.raises(PipelineError, match="model: LogisticRegression cannot be fitted") as error:
        train_model(prepared.train, prepared.features, l1_with_lbfgs)
    assert "\n" not in str(error.value)
    assert isinstance(prepared.train, pd.DataFrame)
