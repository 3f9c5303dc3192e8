from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from lockstep.config import compose_params, load_params, parse_params, resolve_metric
from lockstep.errors import PipelineError

from tests.conftest import REPO_ROOT


@pytest.fixture
def raw_params() -> dict:
    return yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def test_committed_params_equal_a_fresh_composition_of_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    fresh = tmp_path / "params.yaml"
    compose_params(output=fresh)
    assert fresh.read_bytes() == (REPO_ROOT / "params.yaml").read_bytes()


def test_composition_switches_a_config_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    cfg = compose_params(["model=random_forest", "model.max_depth=6", "seed=7"], output=tmp_path / "p.yaml")
    assert cfg.model["_target_"] == "sklearn.ensemble.RandomForestClassifier"
    assert cfg.model["max_depth"] == 6
    assert cfg.model["random_state"] == 7  # interpolated from ${seed}


def test_composition_rejects_an_unknown_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    with pytest.raises(PipelineError, match="model/xgboost"):
        compose_params(["model=xgboost"], output=tmp_path / "p.yaml")
    assert not (tmp_path / "p.yaml").exists()


def test_composition_rejects_an_unknown_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    with pytest.raises(PipelineError, match="cannot compose"):
        compose_params(["split.test_fraction=0.3"], output=tmp_path / "p.yaml")


def test_every_model_config_composes_and_names_an_estimator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    for model_file in sorted((REPO_ROOT / "conf" / "model").glob("*.yaml")):
        cfg = compose_params([f"model={model_file.stem}"], output=tmp_path / f"{model_file.stem}.yaml")
        assert cfg.model["_target_"].startswith("sklearn.")


def test_parse_params_returns_typed_config(raw_params: dict) -> None:
    cfg = parse_params(raw_params)
    assert cfg.split.test_size == pytest.approx(0.2)
    assert cfg.data.schema.columns["age"].dtype == "int"
    assert resolve_metric("auto", "binary") == "roc_auc"
    assert resolve_metric("auto", "regression") == "r2"
    assert resolve_metric("log_loss", "binary") == "log_loss"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("seed",), "abc", r"seed: Input should be a valid integer"),
        (("split", "test_size"), 1.5, r"split.test_size must be above 0 and at most 0.5 \(the test set"),
        (("split", "test_size"), 0.9999, r"split.test_size must be above 0 and at most 0.5"),
        (("split", "min_class_rows"), 0, r"split.min_class_rows must be at least 1"),
        (("seed",), -1, r"seed must be an integer from 0 to 4294967295 \(2\*\*32 - 1\)"),
        (("seed",), 2**70, r"seed must be an integer from 0 to 4294967295"),
        (("data", "ingest", "seed"), -5, r"data.ingest.seed must be an integer from 0 to 4294967295"),
        (
            ("data", "ingest", "n_rows"),
            10**12,
            r"data.ingest.n_rows must be at most 20,000,000 \(the table is built in memory, about 165 bytes a row\)",
        ),
        (
            ("extra_model_libraries",),
            ["os"],
            r"extra_model_libraries must list package names: entry 'os' is a standard",
        ),
        (("extra_model_libraries",), ["xgboost.sklearn"], r"entry 'xgboost.sklearn' is not a package name"),
        (("data", "positive_class"), 1.5, r"data.positive_class must be one label of the target"),
        (("split", "test_fraction"), 0.3, r"split.test_fraction is not a key of split; check its spelling"),
        (("seeed",), 1, r"seeed is not a key of params.yaml; check its spelling against conf/"),
        (("gate", "threshold"), "abc", r"gate.threshold: Input should be a valid number"),
        (("data", "task"), "ranking", r"data.task: Input should be 'auto', 'binary', 'multiclass' or 'regression'"),
        (("data", "ingest", "source"), "ftp", r"data.ingest.source: Input should be 'synthetic' or 'file'"),
        (
            ("data", "schema", "columns", "age", "dtype"),
            "decimal",
            r"age.dtype: Input should be 'int', 'float', 'category'",
        ),
        (("model", "_target_"), "LogisticRegression", r"model._target_ must name an estimator class"),
        (("evaluate", "decision_threshold"), 0, r"evaluate.decision_threshold must be between 0 and 1"),
        (("gate", "max_regression"), -0.1, r"gate.max_regression must not be negative"),
        (("evaluate", "importance_max_rows"), 0, r"evaluate.importance_max_rows must be at least 1"),
        (("evaluate", "slice_min_rows"), 0, r"evaluate.slice_min_rows must be at least 1"),
    ],
)
def test_bad_values_give_a_one_line_error(raw_params: dict, path: tuple[str, ...], value: object, message: str) -> None:
    params = copy.deepcopy(raw_params)
    node = params
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(PipelineError, match=message) as error:
        parse_params(params)
    assert "\n" not in str(error.value)


def test_file_source_needs_a_path(raw_params: dict) -> None:
    raw_params["data"]["ingest"] |= {"source": "file", "path": None}
    with pytest.raises(PipelineError, match=r"data\.ingest\.path is required"):
        parse_params(raw_params)


@pytest.mark.parametrize(
    ("source", "path", "name", "expected"),
    [
        ("file", "data/source/cancer.parquet", None, "cancer"),  # the copied conf/data/file.yaml says null
        ("file", "data/source/cancer.parquet", "breast_cancer", "breast_cancer"),
        ("synthetic", None, None, "synthetic"),
    ],
)
def test_the_dataset_name_follows_the_data_file_unless_set(
    raw_params: dict, source: str, path: str | None, name: str | None, expected: str
) -> None:
    raw_params["data"]["ingest"] |= {"source": source, "path": path}
    raw_params["data"]["name"] = name
    assert parse_params(raw_params).data.dataset_name == expected


def test_load_params_explains_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="make params"):
        load_params(tmp_path / "params.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: [1, 2\n")
    with pytest.raises(PipelineError, match="not valid YAML"):
        load_params(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n")
    with pytest.raises(PipelineError, match="must hold a mapping"):
        load_params(listed)


def test_conf_has_the_documented_groups() -> None:
    groups = {path.name for path in (REPO_ROOT / "conf").iterdir() if path.is_dir()}
    assert {"data", "model"} <= groups
    models = {path.stem for path in (REPO_ROOT / "conf" / "model").glob("*.yaml")}
    assert {"logistic_regression", "random_forest", "hist_gradient_boosting"} <= models
