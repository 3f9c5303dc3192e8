"""A real model's monitoring reference, fitted as evaluate fits it, and the model served from a bundle."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lockstep.config import Params
from lockstep.contract.model_contract import ModelContract
from lockstep.data.prepare import PreparedData
from lockstep.evaluation.reference import MonitoringReference, fit_monitoring_reference
from lockstep.registry.store import ModelVersion, load_version


@pytest.fixture(scope="session")
def served(bundle: Path) -> ModelVersion:
    return load_version(str(bundle))


@pytest.fixture(scope="session")
def reference(
    prepared: PreparedData, served: ModelVersion, cfg: Params, contract: ModelContract
) -> MonitoringReference:
    outputs = served.predict(prepared.test)
    predictions = pd.DataFrame({"y_true": prepared.test[cfg.data.target].to_numpy(), **outputs})
    predictions = predictions.rename(columns={"label": "y_pred"})
    return fit_monitoring_reference(prepared.train, predictions, contract)
