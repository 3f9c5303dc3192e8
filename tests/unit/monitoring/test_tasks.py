"""The monitor on a multiclass and a regression model's log: the outputs each task logs, and what it can say of them."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from lockstep.config import Params, Task
from lockstep.contract import prediction_log as log
from lockstep.evaluation.calibration import fit_reference
from lockstep.evaluation.profile import fit_profile
from lockstep.evaluation.reference import MonitoringReference
from lockstep.monitoring.monitor import run_monitor

CLASSES = ("a", "b", "c")


def draw(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A feature, calibrated probabilities of the three classes, and labels drawn from them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, rows)
    logits = np.column_stack([x, -x, np.zeros(rows)]) * 1.5
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = (probabilities.cumsum(axis=1) < rng.random((rows, 1))).sum(axis=1)
    return x, probabilities, labels


def test_a_multiclass_log_gets_its_estimate_and_its_realized_metrics(tmp_path: Path, cfg: Params) -> None:
    x, probabilities, labels = draw(5_000, 0)
    profile = fit_profile({"x": x}, {"x"}, score=probabilities.max(axis=1))
    reference = MonitoringReference(profile, fit_reference(Task.MULTICLASS, probabilities, labels, CLASSES))
    x, probabilities, labels = draw(2_000, 1)
    encoder, lines, feedback = msgspec.json.Encoder(), [], []
    for row in range(2_000):
        outputs = {f"proba_{name}": [float(probabilities[row, k])] for k, name in enumerate(CLASSES)}
        record = log.PredictionRecord(
            request_id=f"r{row}",
            time=1_796_083_200.0 + row,
            model_version="v1.0.0",
            model_sha256="0" * 64,
            ids=[f"id{row}"],
            inputs=[{"x": float(x[row])}],
            outputs=outputs | {"label": [CLASSES[int(probabilities[row].argmax())]]},
            latency_ms=1.0,
        )
        lines.append(encoder.encode(record))
        feedback.append(encoder.encode(log.FeedbackRecord(id=f"id{row}", outcome=CLASSES[labels[row]], time=0.0)))
    (tmp_path / log.PREDICTIONS_FILE).write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / log.FEEDBACK_FILE).write_bytes(b"\n".join(feedback) + b"\n")
    metrics = {"roc_auc_ovr": 0.6, "accuracy": None}
    settings = cfg.monitor.model_copy(
        update={"performance": cfg.monitor.performance.model_copy(update={"metrics": metrics})}
    )
    table = run_monitor(tmp_path, reference, settings).table.set_index(["check", "metric"])
    realized, estimated = table.loc["performance_realized"], table.loc["performance_estimated"]
    assert list(realized.index) == list(estimated.index) == ["accuracy", "roc_auc_ovr"]
    assert set(realized["status"]) == {"realized"}
    assert set(estimated["status"]) == {"estimated"}
    assert np.allclose(estimated["value"], realized["value"], atol=0.03)
    assert not table["alerted"].any()


def test_a_regression_log_is_checked_for_drift_and_its_performance_not_estimated(tmp_path: Path, cfg: Params) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 3_000)
    reference = MonitoringReference(fit_profile({"x": x}, {"x"}, score=2 * x), fit_reference(Task.REGRESSION, 2 * x))
    x = rng.normal(1, 1, 1_000)  # one std away: drift in the feature and the prediction
    records = [
        log.PredictionRecord(
            request_id=f"r{row}",
            time=1_796_083_200.0 + row,
            model_version="v1.0.0",
            model_sha256="0" * 64,
            ids=[f"id{row}"],
            inputs=[{"x": float(x[row])}],
            outputs={"label": [float(2 * x[row])]},
            latency_ms=1.0,
        )
        for row in range(1_000)
    ]
    encoder = msgspec.json.Encoder()
    (tmp_path / log.PREDICTIONS_FILE).write_bytes(b"".join(encoder.encode(r) + b"\n" for r in records))
    table = run_monitor(tmp_path, reference, cfg.monitor).table.set_index(["check", "metric"])
    assert table.loc[("feature_drift", "wasserstein/std"), "alerted"]
    assert table.loc[("prediction_drift", "wasserstein/std"), "alerted"]
    performance = table.loc[["performance_realized", "performance_estimated"]]
    assert set(performance["status"]) == {"not estimated"}
    assert all(note.startswith("regression:") for note in performance["note"])
