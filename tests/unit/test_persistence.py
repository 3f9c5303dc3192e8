from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline

from lockstep.config import Config
from lockstep.data.prepare import PreparedData
from lockstep.errors import PipelineError
from lockstep.modeling.persistence import canonical_skops, load_model, save_model
from lockstep.modeling.train import train_model


def test_equal_models_give_equal_bytes(tmp_path: Path, prepared: PreparedData, cfg: Config) -> None:
    boosting = {"_target_": "sklearn.ensemble.HistGradientBoostingClassifier", "max_iter": 20, "random_state": 0}
    cfg = replace(cfg, model=boosting)
    first, second = (train_model(prepared.train, prepared.features, cfg) for _ in range(2))
    assert sio.dumps(first) != sio.dumps(second)  # why canonical_skops exists
    save_model(first, tmp_path / "a.skops")
    save_model(second, tmp_path / "b.skops")
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()


def test_canonical_file_loads_to_the_same_predictions(
    tmp_path: Path, trained: Pipeline, prepared: PreparedData
) -> None:
    path = tmp_path / "model.skops"
    save_model(trained, path)
    inputs = prepared.test[prepared.features.columns]
    np.testing.assert_array_equal(load_model(path).predict_proba(inputs), trained.predict_proba(inputs))
    with zipfile.ZipFile(path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert "schema.json" in archive.namelist()


def test_canonical_form_is_stable(trained: Pipeline) -> None:
    once = canonical_skops(sio.dumps(trained))
    assert canonical_skops(once) == once


def test_refuses_untrusted_types(tmp_path: Path) -> None:
    path = tmp_path / "odd.skops"
    path.write_bytes(sio.dumps({"callback": Path}))
    with pytest.raises(PipelineError, match="not trusted: pathlib"):
        load_model(path)


def test_missing_model_file_says_which_stage_to_run(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="run the train stage first"):
        load_model(tmp_path / "model.skops")
