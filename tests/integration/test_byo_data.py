"""Bring your own data: a CSV or Parquet file and a target, no code change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes

from tests.conftest import PACKAGE, Project


def exp_run(project: Project, *overrides: str, check: bool = True) -> subprocess.CompletedProcess:
    """`dvc exp run -S o1 -S o2 ...` in `project`."""
    return project.run("dvc", "exp", "run", *(arg for override in overrides for arg in ("-S", override)), check=check)


def metrics_and_plots(project: Project) -> tuple[dict, dict[str, list]]:
    """The metrics, and the plot tables this task writes (a plot that does not fit it has an empty folder)."""
    metrics = json.loads(project.read("metrics/metrics.json"))
    plots = {p.stem: json.loads(p.read_text()) for p in (project.root / "metrics" / "plots").glob("*/*.json")}
    return metrics, plots


def assert_dvc_draws_exactly(project: Project, expected: set[str], importance_metric: str) -> None:
    """`dvc plots show` draws the `expected` plots, each with data, reports no error, and names the
    metric on the importance plot's value axis."""
    shown = project.run("dvc", "plots", "show", "--json").stdout  # stderr merged: a warning would break the JSON
    assert "failed to load" not in shown
    rendered = json.loads(shown)
    assert "errors" not in rendered
    panels = {Path(name).parent.name: specs for name, specs in rendered["data"].items()}
    assert set(panels) == expected
    for name, specs in panels.items():
        assert len(specs) == 1, name
        assert specs[0]["content"]["data"]["values"], f"{name} is drawn as an empty panel"
    value_axis = panels["feature_importance"][0]["content"]["encoding"]["x"]
    assert value_axis["title"] == f"drop in {importance_metric} when the column is shuffled"


def test_the_shipped_multiclass_example(reproduced: Project) -> None:
    run = exp_run(reproduced, "data=file").stdout
    assert "Running stage 'ingest'" in run
    metrics, plots = metrics_and_plots(reproduced)
    assert set(metrics) == {"accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "log_loss", "roc_auc_ovr"}
    assert metrics["f1_macro"] > 0.9  # wine cultivars are easy to tell apart
    assert len(plots["confusion_matrix"]) == 9
    assert set(plots) == {"confusion_matrix", "feature_importance"}
    assert_dvc_draws_exactly(reproduced, set(plots), "f1_macro")
    features = json.loads(reproduced.read("data/prepared/features.json"))
    assert features["task"] == "multiclass"
    assert features["classes"] == ["cultivar_a", "cultivar_b", "cultivar_c"]


def test_a_binary_parquet_file_with_an_id_column(reproduced: Project) -> None:
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    frame.insert(0, "patient", [f"P{i:04d}" for i in range(len(frame))])
    frame.to_parquet(reproduced.root / "data" / "source" / "cancer.parquet", index=False)
    exp_run(
        reproduced,
        "data=file",
        "data.ingest.path=data/source/cancer.parquet",
        "data.target=benign",
        "data.id_column=patient",
        "data.name=breast_cancer",
    )
    metrics, plots = metrics_and_plots(reproduced)
    assert metrics["roc_auc"] > 0.95
    assert len(plots["roc"]) == 101
    assert_dvc_draws_exactly(
        reproduced, {"roc", "precision_recall", "calibration", "confusion_matrix", "feature_importance"}, "roc_auc"
    )
    predictions = pd.read_parquet(reproduced.root / "metrics" / "predictions.parquet")
    assert predictions["id"].str.startswith("P").all()
    card = json.loads(reproduced.read("models/model_card.json"))
    assert "patient" not in card["features"]["numeric"]
    assert card["data"]["dataset"] == "breast_cancer"


def test_a_regression_csv_with_a_regressor(reproduced: Project) -> None:
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    frame["sex"] = frame["sex"].map({1.0: "f", 2.0: "m"})
    frame.to_csv(reproduced.root / "data" / "source" / "diabetes.csv", index=False)
    exp_run(
        reproduced, "data=file", "data.ingest.path=data/source/diabetes.csv", "data.target=progression", "model=ridge"
    )
    metrics, plots = metrics_and_plots(reproduced)
    assert set(metrics) == {"rmse", "mae", "median_absolute_error", "r2"}
    assert 0.3 < metrics["r2"] < 0.7
    assert len(plots["predicted_vs_actual"]) == round(0.2 * len(frame))  # the whole test set
    assert_dvc_draws_exactly(reproduced, {"predicted_vs_actual", "residuals", "feature_importance"}, "r2")
    slices = json.loads(reproduced.read("metrics/slices.json"))
    assert set(slices["sex"]) == {"f", "m"}


def test_a_classifier_on_a_regression_target_is_refused(reproduced: Project) -> None:
    frame = load_diabetes(as_frame=True).frame
    frame.to_csv(reproduced.root / "data" / "source" / "diabetes.csv", index=False)
    result = exp_run(
        reproduced, "data=file", "data.ingest.path=data/source/diabetes.csv", "data.target=target", check=False
    )
    assert result.returncode != 0
    assert (
        f"{PACKAGE} train: error: model LogisticRegression is not a regressor but the task is regression; try -S model=ridge"
        in result.stdout
    )
