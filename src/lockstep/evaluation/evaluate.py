"""Evaluate: score the model on the test set and write metrics, plots, the card and the monitoring reference.

Everything is computed first and written last: metrics and plots through
DVCLive into a temporary folder that is swapped in whole, the rest atomically.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .. import paths
from ..config import DEFAULT_METRICS, Params, Task
from ..contract.features import FeatureSpec
from ..contract.model_contract import ModelContract
from .curves import Rows, classification_plots, regression_plots
from .importance import feature_importance
from .metrics import compute_metrics, metric_for, predict
from .model_card import build_model_card
from .slices import slice_metrics

log = logging.getLogger(__name__)


class PlotStyle(NamedTuple):
    """How DVC draws a plot table (dvc.yaml `plots:` says the same) and the title the report gives it.

    `y` None: the table's last field, named after what it measures (see importance_label).
    """

    x: str
    y: str | None
    template: str
    title: str


PLOT_STYLES = {
    "roc": PlotStyle("fpr", "tpr", "simple", "ROC"),
    "precision_recall": PlotStyle("recall", "precision", "simple", "Precision-recall"),
    "calibration": PlotStyle("predicted", "observed", "simple", "Calibration"),
    "confusion_matrix": PlotStyle("actual", "predicted", "confusion_counts", "Confusion matrix"),
    "feature_importance": PlotStyle("feature", None, "importance", "Feature importance"),
    "predicted_vs_actual": PlotStyle("actual", "predicted", "scatter", "Predicted vs actual"),
    "residuals": PlotStyle("residual", "rows", "simple", "Residuals"),
}


@dataclass(frozen=True)
class Evaluation:
    """Everything the evaluate stage computes, before it is written."""

    predictions: pd.DataFrame
    metrics: dict[str, float]
    importance_metric: str
    plots: dict[str, Rows]
    slices: dict[str, Any]


def evaluate_model(
    model: Any, test: pd.DataFrame, features: FeatureSpec, contract: ModelContract, cfg: Params
) -> Evaluation:
    """Predict on `test` as the contract says and compute metrics, plot tables and slice metrics."""
    log.info("predicting %s test rows", f"{len(test):,}")
    predictions = predict(model, test, contract)
    sample = test.iloc[importance_positions(len(test), cfg.evaluate.importance_max_rows, cfg.seed)]
    return evaluate_predictions(model, predictions, sample.reset_index(drop=True), test, features, contract, cfg)


def importance_positions(rows: int, max_rows: int, seed: int) -> np.ndarray:
    """The test rows permutation importance is measured on: all, or `max_rows` of them (seeded), in order."""
    if rows <= max_rows:
        return np.arange(rows)
    return np.sort(np.random.RandomState(seed).choice(rows, size=max_rows, replace=False))


def evaluate_predictions(
    model: Any,
    predictions: pd.DataFrame,
    importance_rows: pd.DataFrame,
    slice_columns: pd.DataFrame,
    features: FeatureSpec,
    contract: ModelContract,
    cfg: Params,
) -> Evaluation:
    """Metrics, plot tables and slices from the test set's predictions (both engines end here).

    `importance_rows`: the test rows of `importance_positions`; `slice_columns`: the test set's categorical columns.
    """
    ecfg = cfg.evaluate
    importance_metric, _ = metric_for(ecfg.importance_metric, features.task, "evaluate.importance_metric")
    metrics = compute_metrics(predictions, features.task, features.classes)
    if features.task == Task.REGRESSION:
        plots = regression_plots(predictions, ecfg.scatter_points, ecfg.histogram_bins, cfg.seed)
    else:
        assert features.classes is not None
        plots = classification_plots(
            predictions, features.classes, features.task, ecfg.curve_points, ecfg.calibration_bins
        )
    log.info("permutation importance of %s columns (%s repeats)", len(features.columns), ecfg.importance_repeats)
    plots["feature_importance"] = feature_importance(
        model,
        importance_rows,
        features,
        contract,
        importance_metric,
        ecfg.importance_repeats,
        ecfg.importance_max_rows,
        cfg.seed,
    )
    slices = slice_metrics(slice_columns, predictions, features, ecfg.slice_min_rows)
    return Evaluation(predictions, metrics, importance_metric, plots, slices)


def write_metrics_and_plots(evaluation: Evaluation, metrics_file: Path, plots_dir: Path) -> None:
    """Log metrics and plot tables with DVCLive, then move them into place."""
    from dvclive import Live

    from ..io import atomic_dir, atomic_path, round_floats

    plots_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".dvclive.", dir=plots_dir.parent) as scratch:
        live_dir = Path(scratch)
        with Live(dir=str(live_dir), save_dvc_exp=False, dvcyaml=None, report=None) as live:
            for name, value in sorted(round_floats(evaluation.metrics).items()):
                if value is not None:  # undefined on this test set (NaN)
                    live.log_metric(name, value, plot=False)
            for name, rows in sorted(evaluation.plots.items()):
                style = PLOT_STYLES[name]
                table = round_floats(rows)
                live.log_plot(name, table, x=style.x, y=style.y, template=style.template, title=style.title)
        with atomic_path(metrics_file) as tmp:
            (live_dir / "metrics.json").replace(tmp)
        with atomic_dir(plots_dir) as tmp_plots:
            _place_plots(live_dir / "plots" / "custom", tmp_plots)


def _place_plots(produced: Path, plots_dir: Path) -> None:
    """One folder per plot dvc.yaml declares, holding its table only when the plot fits the task."""
    for name in PLOT_STYLES:
        target = paths.plot_file(name, plots_dir)
        target.parent.mkdir()
        (target.parent / paths.PLOT_PLACEHOLDER).touch()  # Git keeps the folder; .dvcignore hides the file from DVC
        table = produced / f"{name}.json"
        if table.exists():
            table.replace(target)


def load_model_and_spec(cfg: Params) -> tuple[Any, FeatureSpec, ModelContract]:
    """The trained model, the feature spec and the contract, as the train stage wrote them."""
    from ..contract.model_contract import read_contract
    from ..contract.trust import model_libraries
    from ..modeling.persistence import load_model
    from ..modeling.train import load_features

    model = load_model(paths.MODEL_FILE, paths.MODEL_TYPES, model_libraries(cfg.extra_model_libraries))
    return model, load_features(), read_contract(paths.MODEL_CONTRACT)


def run_evaluate(cfg: Params) -> Evaluation:
    """Evaluate stage: load the model and test set, evaluate, write every output."""
    from ..data.split import training_sample

    model, features, contract = load_model_and_spec(cfg)
    evaluation = evaluate_model(model, pd.read_parquet(paths.TEST_SET), features, contract, cfg)
    # The rows the model learned from: all of them unless train sampled (compute.max_train_rows).
    trained_on = training_sample(pd.read_parquet(paths.TRAIN_SET), features.id_column, cfg.compute.max_train_rows)
    write_evaluation(model, features, contract, evaluation, trained_on, cfg)
    return evaluation


def write_evaluation(
    model: Any,
    features: FeatureSpec,
    contract: ModelContract,
    evaluation: Evaluation,
    trained_on: pd.DataFrame,
    cfg: Params,
) -> None:
    """Write the metrics, plots, slices, predictions, card and monitoring reference (both engines end here)."""
    from ..data.pins import read_pin
    from ..io import write_json, write_parquet
    from .reference import fit_monitoring_reference

    card = build_model_card(
        model,
        features,
        evaluation.metrics,
        {"train": paths.TRAIN_SET, "test": paths.TEST_SET},
        cfg.data.dataset_name,
        read_pin(Path(cfg.data.ingest.path)) if cfg.data.ingest.path else None,
    )
    reference = fit_monitoring_reference(trained_on, evaluation.predictions, contract)
    if reference.estimate.refusal is not None:
        log.info("the label-free estimate will not be available: %s", reference.estimate.refusal)
    write_metrics_and_plots(evaluation, paths.EVAL_METRICS, paths.PLOTS_DIR)
    write_json(evaluation.slices, paths.SLICE_METRICS)
    write_parquet(evaluation.predictions, paths.PREDICTIONS)
    write_json(card, paths.MODEL_CARD)
    write_json(reference.to_dict(), paths.MONITORING_REFERENCE)
    headline = DEFAULT_METRICS[features.task]
    log.info(
        "%s = %.4f; metrics in %s, plots in %s/",
        headline,
        evaluation.metrics[headline],
        paths.EVAL_METRICS,
        paths.PLOTS_DIR,
    )
