"""The monitoring reference evaluate writes: the training columns' profile, the test-set scores, the calibration."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from lockstep.config import NUMERIC_DTYPES, Task
from lockstep.contract.model_contract import ModelContract
from lockstep.data.prepare import PreparedData
from lockstep.evaluation.calibration import Reference
from lockstep.evaluation.metrics import predict
from lockstep.evaluation.reference import (
    MonitoringReference,
    estimate_reference,
    fit_monitoring_reference,
)
from lockstep.io import dumps_json

from tests.shared import replace


@pytest.fixture(scope="module")
def predictions(trained: Pipeline, prepared: PreparedData, contract: ModelContract) -> pd.DataFrame:
    return predict(trained, prepared.test, contract)


def test_the_reference_profiles_each_feature_as_its_contract_says(
    prepared: PreparedData, predictions: pd.DataFrame, contract: ModelContract
) -> None:
    reference = fit_monitoring_reference(prepared.train, predictions, contract)
    numeric = sorted(c.name for c in contract.columns if c.dtype in NUMERIC_DTYPES)
    assert sorted(reference.profile.numeric) == numeric
    assert reference.profile.features == sorted(contract.feature_names)
    assert reference.profile.numeric[numeric[0]].rows == len(prepared.train)
    assert reference.profile.score is not None
    assert reference.profile.score.rows == len(prepared.test)
    assert reference.profile.score.mean == pytest.approx(predictions["score"].mean())
    assert (reference.estimate.task, reference.estimate.rows) == (Task.BINARY, len(prepared.test))
    assert reference.estimate.refusal is None  # a logistic regression is calibrated


def test_the_reference_is_the_same_bytes_every_time_and_reads_back_to_them(
    prepared: PreparedData, predictions: pd.DataFrame, contract: ModelContract
) -> None:
    first = dumps_json(fit_monitoring_reference(prepared.train, predictions, contract).to_dict())
    again = dumps_json(fit_monitoring_reference(prepared.train, predictions, contract).to_dict())
    assert first == again
    assert dumps_json(MonitoringReference.from_json(first).to_dict()) == first


def test_a_calibration_the_test_set_cannot_back_is_recorded_not_raised(
    predictions: pd.DataFrame, contract: ModelContract
) -> None:
    squashed = predictions.assign(score=0.5 + (predictions["score"] - 0.5) / 4)  # far from the observed rates
    assert "poorly calibrated" in str(estimate_reference(squashed, contract).refusal)
    few = predictions.head(300)
    assert "too few rows" in str(estimate_reference(few, contract).refusal)
    broken = predictions.assign(score=float("nan"))
    refused = estimate_reference(broken, contract)
    assert str(refused.refusal).startswith("the test set cannot calibrate the model: scores hold NaN")
    assert Reference.from_dict(refused.to_dict()) == refused  # a refused reference is written like any other


def test_a_regressor_s_reference_says_the_estimate_is_not_available(
    predictions: pd.DataFrame, contract: ModelContract
) -> None:
    regression = replace(contract, task=Task.REGRESSION, classes=None, decision_threshold=None)
    reference = estimate_reference(predictions.assign(y_pred=predictions["score"]), regression)
    assert reference.task == Task.REGRESSION
    assert str(reference.refusal).startswith("regression: not estimated")


def test_a_reference_of_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="reference format 2, not 1"):
        MonitoringReference.from_dict({"format": 2})
