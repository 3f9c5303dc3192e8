"""A small prepared dataset and trained model, shared by the unit tests."""

from __future__ import annotations

import pytest
import yaml
from sklearn.pipeline import Pipeline

from lockstep.config import Config, parse_params
from lockstep.data.prepare import PreparedData, prepare_data
from lockstep.data.synthetic import generate_credit_data
from lockstep.modeling.train import train_model

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="session")
def cfg() -> Config:
    return parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))


@pytest.fixture(scope="session")
def prepared(cfg: Config) -> PreparedData:
    return prepare_data(generate_credit_data(4_000, seed=8), cfg)


@pytest.fixture(scope="session")
def trained(prepared: PreparedData, cfg: Config) -> Pipeline:
    return train_model(prepared.train, prepared.features, cfg)
