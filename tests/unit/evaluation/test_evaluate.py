from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline

from lockstep import paths
from lockstep.config import Params
from lockstep.contract.model_contract import ModelContract, build_contract
from lockstep.data.ingest import run_ingest
from lockstep.data.prepare import PreparedData, run_prepare
from lockstep.errors import PipelineError
from lockstep.evaluation.evaluate import PLOT_STYLES, evaluate_model, run_evaluate
from lockstep.evaluation.model_card import source_sha256
from lockstep.evaluation.reference import MonitoringReference
from lockstep.modeling.train import run_train

from tests.conftest import REPO_ROOT
from tests.shared import replace


def test_evaluation_of_a_binary_model(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract, cfg: Params
) -> None:
    evaluation = evaluate_model(trained, prepared.test, prepared.features, contract, cfg)
    assert evaluation.importance_metric == "roc_auc"
    assert 0.6 < evaluation.metrics["roc_auc"] < 0.9
    assert set(evaluation.plots) == {"roc", "precision_recall", "calibration", "confusion_matrix", "feature_importance"}
    assert len(evaluation.plots["roc"]) == cfg.evaluate.curve_points
    importance = evaluation.plots["feature_importance"]
    values = [row["drop in roc_auc when the column is shuffled"] for row in importance]
    assert values == sorted(values, reverse=True)
    assert all(list(row) == ["feature", "drop in roc_auc when the column is shuffled"] for row in importance)
    assert importance[0]["feature"] in {"credit_utilization", "late_payments_2y", "debt_to_income", "interest_rate"}


def test_slices_cover_each_category_with_enough_rows(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract, cfg: Params
) -> None:
    evaluation = evaluate_model(trained, prepared.test, prepared.features, contract, cfg)
    assert set(evaluation.slices) == set(prepared.features.categorical)
    purposes = evaluation.slices["loan_purpose"]
    counts = prepared.test["loan_purpose"].value_counts()
    assert set(purposes) == set(counts[counts >= cfg.evaluate.slice_min_rows].index)
    assert all(set(values) == {"rows", "roc_auc", "accuracy", "recall"} for values in purposes.values())


def test_importance_metric_must_fit_the_task(
    trained: Pipeline, prepared: PreparedData, contract: ModelContract, cfg: Params
) -> None:
    cfg = replace(cfg, evaluate=replace(cfg.evaluate, importance_metric="r2"))
    with pytest.raises(PipelineError, match="'r2' is not a binary metric; use one of accuracy"):
        evaluate_model(trained, prepared.test, prepared.features, contract, cfg)


def test_the_whole_pipeline_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cfg: Params) -> None:
    """A shrunk run of every stage, in a folder that is not a DVC project."""
    monkeypatch.chdir(tmp_path)
    run_ingest(replace(cfg.data.ingest, n_rows=3_000))
    run_prepare(cfg)
    run_train(cfg)
    run_evaluate(cfg)
    metrics = json.loads(paths.EVAL_METRICS.read_text())
    assert set(metrics) >= {"roc_auc", "accuracy", "log_loss"}
    assert {p.name for p in paths.PLOTS_DIR.iterdir()} == set(PLOT_STYLES)
    drawn = {p.parent.name for p in paths.PLOTS_DIR.glob("*/*.json")}
    assert drawn == {"roc", "precision_recall", "calibration", "confusion_matrix", "feature_importance"}
    assert len(json.loads(paths.plot_file("roc").read_text())) == cfg.evaluate.curve_points
    placeholders = [p.name for p in paths.PLOTS_DIR.glob("*/.*")]
    assert placeholders == [paths.PLOT_PLACEHOLDER] * len(PLOT_STYLES)  # keeps every folder in Git
    assert json.loads(paths.MODEL_CONTRACT.read_text())["decision_threshold"] == cfg.evaluate.decision_threshold
    predictions = pd.read_parquet(paths.PREDICTIONS)
    assert list(predictions.columns) == ["id", "y_true", "score", "y_pred"]
    card = json.loads(paths.MODEL_CARD.read_text())
    assert card["model"]["class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert card["metrics"]["test"]["roc_auc"] == metrics["roc_auc"]
    assert card["code"]["source_sha256"] == source_sha256()
    assert card["data"]["files"]["train"]["path"] == "data/prepared/train.parquet"
    reference = MonitoringReference.from_json(paths.MONITORING_REFERENCE.read_text())
    assert reference.profile.score is not None
    assert reference.profile.score.rows == len(predictions)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".") and p.name != paths.PLOT_PLACEHOLDER]
    assert leftovers == []  # no temporary file or folder


def test_plot_styles_match_the_plots_declared_in_dvc_yaml() -> None:
    evaluate = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]["evaluate"]
    declared = {Path(path).stem: spec for entry in evaluate["plots"] for path, spec in entry.items()}
    assert set(declared) == set(PLOT_STYLES)
    for name, spec in declared.items():
        assert (spec["x"], spec.get("y"), spec["template"], spec["title"]) == PLOT_STYLES[name]


@pytest.mark.parametrize("metric", ["precision", "recall", "f1", "brier", "log_loss", "average_precision"])
def test_every_binary_metric_drives_importance_with_string_labels(metric: str, cfg: Params) -> None:
    from lockstep.data.prepare import prepare_data
    from lockstep.data.synthetic import generate_credit_data
    from lockstep.modeling.train import train_model

    raw = generate_credit_data(3_000, seed=2)
    raw["default"] = raw["default"].map({0: "repaid", 1: "defaulted"})
    schema = replace(cfg.data.schema, columns={k: v for k, v in cfg.data.schema.columns.items() if k != "default"})
    # "defaulted" sorts first, so data.positive_class is what makes it the positive class.
    data = replace(cfg.data, schema=schema, positive_class="defaulted")
    string_cfg = replace(cfg, data=data, evaluate=replace(cfg.evaluate, importance_metric=metric))
    string_cfg.data.schema.columns["default"] = replace(
        cfg.data.schema.columns["loan_id"], dtype="category", unique=False
    )
    prepared = prepare_data(raw, string_cfg)
    assert prepared.features.classes == ["repaid", "defaulted"]
    model = train_model(prepared.train, prepared.features, string_cfg)
    contract = build_contract(prepared.features, string_cfg, trusted_types=[])  # the model is not saved here
    evaluation = evaluate_model(model, prepared.test, prepared.features, contract, string_cfg)
    assert evaluation.importance_metric == metric
    assert len(evaluation.plots["feature_importance"]) == len(prepared.features.columns)
    change = "rise" if metric in ("brier", "log_loss") else "drop"  # the axis says which way is worse
    assert list(evaluation.plots["feature_importance"][0])[-1] == f"{change} in {metric} when the column is shuffled"
