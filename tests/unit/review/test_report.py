"""The report's markdown, against golden files (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lockstep.review.bootstrap import Interval
from lockstep.review.compare import Comparison, Side
from lockstep.review.gate import decide
from lockstep.review.report import render_markdown, write_report

from tests.shared import replace, shipped_params

GOLDEN = Path(__file__).with_name("golden")
PARAMS = {
    "seed": 42,
    "model": {"_target_": "sklearn.linear_model.LogisticRegression", "C": 1.0},
    "gate": shipped_params().gate.model_dump(mode="json") | {"threshold": 0.7, "max_regression": 0.01},
}
SLICES = {"home_ownership": {"own": {"rows": 600, "roc_auc": 0.74}, "rent": {"rows": 1700, "roc_auc": 0.73}}}
CARD = {"task": "binary", "metrics": {}, "classes": [0, 1]}
ROC = [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.5, "tpr": 0.8}, {"fpr": 1.0, "tpr": 1.0}]


def side(label: str, auc: float | None, params: dict, slices: dict | None) -> Side:
    metrics = None if auc is None else {"roc_auc": auc, "accuracy": 0.9, "log_loss": 0.3}
    data = None if auc is None else {"rows": 20000, "positive_rate": 0.11}
    card = CARD if auc is not None else None
    md5 = None if auc is None else f"{int(auc * 10000):032x}"
    return Side(label, metrics, data, params, slices, card, {"roc": ROC if auc else []}, model_md5=md5)


def comparison(base: Side, new: Side, interval: Interval | None, note: str) -> Comparison:
    base_auc = base.metrics["roc_auc"] if base.metrics else None
    verdict = decide(
        "roc_auc",
        new.metrics["roc_auc"],
        base_auc,
        interval,
        replace(shipped_params().gate, threshold=0.7, max_regression=0.01),
    )
    return Comparison(base, new, "binary", verdict, note)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_report_of_a_regression_that_blocks() -> None:
    new_params = {**PARAMS, "model": {"_target_": "sklearn.ensemble.RandomForestClassifier", "max_depth": 1}}
    worse_slices = {"home_ownership": {"own": {"rows": 600, "roc_auc": 0.70}, "rent": {"rows": 1700, "roc_auc": 0.728}}}
    result = comparison(
        side("main (abc1234)", 0.7457, PARAMS, SLICES),
        side("this revision", 0.7001, new_params, worse_slices),
        Interval(-0.0456, -0.061, -0.030, 0.95, 1000),
        "paired bootstrap, 1000 resamples of 4,000 test rows",
    )
    check_golden("blocked.md", render_markdown(result, ["roc.png"]))


def test_report_of_a_first_model() -> None:
    result = comparison(
        side("main (abc1234)", None, PARAMS, None), side("this revision", 0.7457, PARAMS, SLICES), None, "no base model"
    )
    check_golden("first_model.md", render_markdown(result, []))


def test_write_report_renders_images_and_the_verdict(tmp_path: Path) -> None:
    result = comparison(
        side("main (abc1234)", 0.7457, PARAMS, SLICES),
        side("this revision", 0.7512, PARAMS, SLICES),
        None,
        "no predictions",
    )
    report = write_report(result, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "roc.png", "verdict.json"]
    assert (tmp_path / "roc.png").read_bytes().startswith(b"\x89PNG")
    assert "![roc](roc.png)" in report.read_text()
    assert '"passed": true' in (tmp_path / "verdict.json").read_text()


@pytest.mark.parametrize("auc", [0.7457, 0.7001])
def test_headline_matches_the_verdict(auc: float) -> None:
    result = comparison(
        side("main", 0.7457, PARAMS, SLICES),
        side("new", auc, PARAMS, SLICES),
        Interval(-0.05, -0.06, -0.03, 0.95, 1000),
        "",
    )
    headline = render_markdown(result, []).splitlines()[0]
    assert headline.endswith("✅ the gate passes" if result.verdict.passed else "❌ the gate fails")


def test_the_model_s_hash_and_ignored_gate_changes_are_stated() -> None:
    lenient = {**PARAMS, "gate": PARAMS["gate"] | {"threshold": 0.5}}
    result = comparison(side("main", 0.7457, PARAMS, SLICES), side("new", 0.7512, lenient, SLICES), None, "")
    markdown = render_markdown(result, [])
    hashes = f"of this revision: md5 `{result.new.model_md5}`; of the base: md5 `{result.base.model_md5}`."
    assert f"Model `models/model.skops` {hashes}" in markdown
    assert (
        "- This revision changes `gate.threshold` (`0.7` → `0.5`): the gate applies the base branch's settings, "
        "so the change takes effect once merged"
    ) in markdown


def test_the_data_table_shows_inferred_decisions_and_their_changes() -> None:
    from lockstep.review.report import metrics_table

    base = {"rows": 100, "inferred": {"columns": {"zip": "numeric"}, "task": "binary (inferred)"}}
    new = {"rows": 100, "inferred": {"columns": {"zip": "categorical (40 values)"}, "task": "binary (inferred)"}}
    assert metrics_table(base, new, ("main", "pr"), "") == [
        "| metric | main | pr | change |",
        "| --- | ---: | ---: | ---: |",
        "| inferred.columns.zip | `numeric` | `categorical (40 values)` | – |",
        "| inferred.task | `binary (inferred)` | `binary (inferred)` | – |",
        "| rows | 100 | 100 | +0 |",
    ]


def test_the_importance_plot_names_the_metric_it_measured() -> None:
    from lockstep.review.report import importance_metric

    result = comparison(side("main", 0.7457, PARAMS, SLICES), side("new", 0.7512, PARAMS, SLICES), None, "")
    result.new.params["evaluate"] = {"importance_metric": "auto"}
    result.new.card["task"] = "binary"
    assert importance_metric(result) == "roc_auc"
    result.new.params["evaluate"] = {"importance_metric": "log_loss"}
    assert importance_metric(result) == "log_loss"
