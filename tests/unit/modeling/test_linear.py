"""The linear fast path: used for a logistic regression it matches, refused for anything else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from lockstep.config import Params
from lockstep.contract.model_contract import ModelContract
from lockstep.data.prepare import PreparedData
from lockstep.modeling import linear
from lockstep.modeling.features import build_preprocessor
from lockstep.modeling.linear import LinearScorer, reference_sample, serving_scorer
from lockstep.modeling.predict import predict_frame

from tests.shared import replace


def test_a_logistic_regression_is_served_by_the_fast_path_bit_for_bit(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract
) -> None:
    scorer = serving_scorer(trained, contract)
    assert isinstance(scorer, LinearScorer)
    rows = prepared.test.reset_index(drop=True)
    pd.testing.assert_frame_equal(
        predict_frame(scorer, rows, contract, one_worker_set=True),
        predict_frame(trained, rows, contract),
        check_exact=True,
    )


def test_the_reference_sample_holds_missing_and_unseen_values_within_the_contract(
    trained: Pipeline, contract: ModelContract
) -> None:
    # A string column without allowed values may carry a category the model never saw.
    open_column = next(rule for rule in contract.columns if rule.dtype == "category")
    columns = [replace(rule, allowed=None) if rule is open_column else rule for rule in contract.columns]
    sample = reference_sample(replace(contract, columns=columns), LinearScorer(trained).categories)
    assert len(sample) == linear.SAMPLE_ROWS  # no row broke the contract it was built from
    nullable = [rule.name for rule in contract.columns if rule.nullable]
    assert nullable
    assert all(sample[name].isna().any() for name in nullable)
    assert (sample[open_column.name] == linear.UNSEEN).any()
    assert set(sample[open_column.name].dropna()) > {linear.UNSEEN}  # and the ones it learned


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_a_multiclass_logistic_regression_and_a_ridge_are_served_by_the_fast_path_bit_for_bit(
    task: str, prepared: PreparedData, contract: ModelContract, cfg: Params
) -> None:
    # Targets made from the data: three bands of the interest rate, or the rate itself.
    columns = contract.feature_names
    rate = prepared.train["interest_rate"]
    if task == "multiclass":
        target, estimator = np.digitize(rate, rate.quantile([1 / 3, 2 / 3])), LogisticRegression(max_iter=500)
    else:
        target, estimator = rate.to_numpy(), Ridge()
    model = Pipeline([("preprocess", build_preprocessor(prepared.features, cfg.features)), ("model", estimator)])
    model.fit(prepared.train[columns], target)
    scorer = serving_scorer(model, replace(contract, task=task))
    assert isinstance(scorer, LinearScorer)
    rows = prepared.test[columns]
    if task == "multiclass":
        np.testing.assert_array_equal(scorer.predict_proba(rows), model.predict_proba(rows))
    else:
        np.testing.assert_array_equal(scorer.predict(rows), model.predict(rows))


def test_gradient_boosting_is_served_by_its_pipeline(
    prepared: PreparedData, contract: ModelContract, cfg: Params
) -> None:
    boosted = Pipeline(
        [
            ("preprocess", build_preprocessor(prepared.features, cfg.features)),
            ("model", HistGradientBoostingClassifier(max_iter=3)),
        ]
    ).fit(prepared.train[contract.feature_names], prepared.train[contract.target])
    assert serving_scorer(boosted, contract) is boosted


def test_a_fast_path_that_differs_from_the_pipeline_is_not_used(
    trained: Pipeline, contract: ModelContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = LinearScorer.predict_proba
    monkeypatch.setattr(LinearScorer, "predict_proba", lambda self, frame: exact(self, frame) + 1e-11)
    assert serving_scorer(trained, contract) is trained


@pytest.mark.parametrize("count", [16, 200], ids=["looked-up-in-python", "looked-up-by-pandas"])
def test_an_unseen_category_scores_as_the_pipeline_scores_it(
    count: int, trained: Pipeline, prepared: PreparedData, contract: ModelContract
) -> None:
    assert (count > linear.VECTORISED_ROWS) == (count == 200)
    rows = prepared.test.head(count).reset_index(drop=True)
    categorical = next(rule.name for rule in contract.columns if rule.dtype == "category")
    rows.loc[::2, categorical] = linear.UNSEEN  # every other row; the rest keep categories the model knows
    np.testing.assert_array_equal(LinearScorer(trained).predict_proba(rows), trained.predict_proba(rows))
