"""The monitor on served traffic: quiet on clean days, and each kind of drift where it belongs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from lockstep.config import MonitorConfig, Params
from lockstep.data.synthetic import NO_DRIFT, Drift
from lockstep.errors import PipelineError
from lockstep.evaluation.reference import MonitoringReference
from lockstep.monitoring.monitor import apply_rule, run_monitor
from lockstep.registry.store import ModelVersion

from tests.unit.monitoring.traffic import DAY, START, write_traffic

SHIFT = Drift(shift={"annual_income": 0.5})


def settings(cfg: Params, **changes: object) -> MonitorConfig:
    """The shipped monitor settings with `changes` (a section's name maps to its changed keys)."""
    raw = cfg.monitor.model_dump()
    for key, value in changes.items():
        raw[key] = raw[key] | value if isinstance(value, dict) else value
    return MonitorConfig.model_validate(raw)


def alerted(table: pd.DataFrame, check: str) -> set[tuple[int, str, str]]:
    """(window position, feature, metric) of each row of `check` that alerted."""
    hits = table[(table["check"] == check) & table["alerted"]]
    first = table["window"].min()
    return set(zip(hits["window"] - first, hits["feature"], hits["metric"], strict=True))


def test_clean_traffic_raises_no_alert(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    logs = write_traffic(tmp_path, served, [NO_DRIFT] * 3, labelled=0.5)
    result = run_monitor(logs, monitoring_reference, cfg.monitor)
    assert set(result.table["check"]) >= {"data_quality", "feature_drift", "prediction_drift"}
    assert not result.table["alerted"].any(), result.table[result.table["alerted"]].to_string()
    assert not result.alerted
    assert result.windows["rows"].tolist() == [2_000] * 3


def test_a_half_std_shift_of_one_feature_alerts_on_that_feature(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    logs = write_traffic(tmp_path, served, [NO_DRIFT, SHIFT, SHIFT])
    result = run_monitor(logs, monitoring_reference, cfg.monitor)
    drift = "wasserstein/std"
    assert alerted(result.table, "feature_drift") == {(1, "annual_income", drift), (2, "annual_income", drift)}
    assert result.alerts[["check", "feature"]].values.tolist() == [["feature_drift", "annual_income"]]


def test_a_new_category_and_a_missing_spike_show_in_data_quality(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    bad = Drift(new_category={"employment_type": ("gig_worker", 0.05)}, missing={"debt_to_income": 0.2})
    logs = write_traffic(tmp_path, served, [bad], failed=4)
    table = run_monitor(logs, monitoring_reference, cfg.monitor).table
    assert alerted(table, "data_quality") == {
        (0, "employment_type", "unseen_share"),
        (0, "debt_to_income", "missing_rate"),
        (0, "-", "error_rate"),  # 4 of 80 requests logged as failed
    }


def test_an_alert_fires_when_k_of_the_last_n_windows_alerted() -> None:
    pattern = [True, False, True, False, False, True, True]
    table = pd.DataFrame(
        {"arm": "prod", "version": "v1", "check": "feature_drift", "feature": "x", "metric": "m"}
        | {"window": range(len(pattern)), "alerted": pattern}
    )
    fired = apply_rule(table, min_windows=2, last_windows=3)["fired"].tolist()
    assert fired == [False, False, True, False, False, False, True]
    assert apply_rule(table, 1, 1)["fired"].tolist() == pattern


def test_one_drifted_window_alerts_but_fires_only_under_a_rule_of_one(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    logs = write_traffic(tmp_path, served, [NO_DRIFT, SHIFT])
    result = run_monitor(logs, monitoring_reference, cfg.monitor)
    assert result.table["alerted"].any()
    assert not result.alerted
    assert run_monitor(logs, monitoring_reference, settings(cfg, alert={"min_windows": 1})).alerted


def test_realized_performance_has_an_interval_and_counts_each_id_once(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    write_traffic(tmp_path, served, [NO_DRIFT], labelled=1.0)
    write_traffic(tmp_path, served, [NO_DRIFT], labelled=1.0)  # every id asks twice
    table = run_monitor(tmp_path, monitoring_reference, cfg.monitor).table.set_index(["check", "metric"])
    realized = table.loc[("performance_realized", "roc_auc")]
    assert realized["status"] == "realized"
    assert realized["rows"] == 2_000  # of 4,000 rows logged: each id once
    assert realized["low"] < realized["value"] < realized["high"]
    estimated = table.loc[("performance_estimated", "roc_auc")]
    assert estimated["status"] == "estimated"
    assert estimated["rows"] == 4_000
    assert abs(estimated["value"] - realized["value"]) < 0.05


def test_a_refused_estimate_says_why_and_too_few_labels_is_not_an_alert(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    refused = dataclasses.replace(
        monitoring_reference,
        estimate=dataclasses.replace(monitoring_reference.estimate, refusal="model poorly calibrated"),
    )
    logs = write_traffic(tmp_path, served, [NO_DRIFT], labelled=0.02)
    table = run_monitor(logs, refused, cfg.monitor).table.set_index(["check", "metric"])
    assert table.loc[("performance_estimated", "roc_auc"), "status"] == "refused"
    assert table.loc[("performance_estimated", "roc_auc"), "note"] == "model poorly calibrated"
    assert table.loc[("performance_realized", "roc_auc"), "status"] == "too few labels"
    assert not table["alerted"].any()


def test_windows_by_rows_cut_each_arm_and_version(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    write_traffic(tmp_path, served, [NO_DRIFT], rows=1_000)
    write_traffic(tmp_path, served, [NO_DRIFT], rows=500, arm="shadow")
    windows = run_monitor(tmp_path, monitoring_reference, settings(cfg, window=400, min_rows=100)).windows
    assert windows[["arm", "rows"]].values.tolist() == [
        ["prod", 400],
        ["shadow", 400],
        ["prod", 400],
        ["shadow", 100],
        ["prod", 200],
    ]


def test_only_the_named_version_is_monitored(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    logs = write_traffic(tmp_path, served, [NO_DRIFT], rows=500)
    assert set(run_monitor(logs, monitoring_reference, cfg.monitor, version=served.version).windows["version"]) == {
        "v0.3.0"
    }
    with pytest.raises(PipelineError, match="no prediction records of version v9.9.9"):
        run_monitor(logs, monitoring_reference, cfg.monitor, version="v9.9.9")


def test_a_window_of_failed_requests_alerts_on_its_error_rate_alone(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    logs = write_traffic(tmp_path, served, [NO_DRIFT], rows=500, failed=20)  # every request of the day
    table = run_monitor(logs, monitoring_reference, cfg.monitor).table.set_index(["check", "feature", "metric"])
    assert table["alerted"].tolist().count(True) == 1
    assert table.loc[("data_quality", "-", "error_rate"), "value"] == 1.0
    assert table.loc[("data_quality", "-", "error_rate"), "alerted"]
    assert table.loc[("performance_estimated", "-", "roc_auc"), "status"] == "not estimated"


def test_a_concept_shift_shows_with_labels_and_not_in_the_estimate(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    concept = Drift(concept="credit_utilization")
    logs = write_traffic(tmp_path, served, [concept, concept], labelled=1.0)
    result = run_monitor(logs, monitoring_reference, cfg.monitor)
    table = result.table.set_index(["check", "metric"])
    assert table.loc[("performance_realized", "roc_auc"), "alerted"].all()  # with labels: below the 0.7 floor
    assert not table.loc[("performance_estimated", "roc_auc"), "alerted"].any()  # blind to it, as the caveat says
    assert result.alerts[["check", "metric"]].values.tolist() == [["performance_realized", "roc_auc"]]


def test_refused_requests_alert_on_the_refusal_rate_with_their_rules(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    logs = write_traffic(tmp_path, served, [NO_DRIFT, NO_DRIFT], rows=2_000, refused=6)  # 6 of 80 requests a day
    result = run_monitor(logs, monitoring_reference, cfg.monitor)
    rates = result.table.set_index(["check", "feature", "metric"]).loc[("data_quality", "-", "refusal_rate")]
    assert rates["value"].tolist() == [6 / 80] * 2
    assert rates["alerted"].all()
    assert rates["note"].tolist() == ["requests refused per rule: range: 6"] * 2
    assert result.windows[["requests", "refused", "rows"]].values.tolist() == [[80, 6, 2_000 - 6 * 25]] * 2
    assert result.alerts[["check", "metric"]].values.tolist() == [["data_quality", "refusal_rate"]]


def test_a_shift_that_moves_the_scores_shows_in_the_score_and_the_predicted_labels(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    """At the 0.5 threshold the model labels under 1% of rows positive: only a large shift moves the labels' shares."""
    assert monitoring_reference.profile.label is not None  # every predicted class, from the test set
    risky = Drift(shift={"credit_utilization": 3, "debt_to_income": 3, "late_payments_2y": 3})
    logs = write_traffic(tmp_path, served, [NO_DRIFT, risky])
    table = run_monitor(logs, monitoring_reference, cfg.monitor).table
    predicted = table[table["check"] == "prediction_drift"].set_index(["window", "feature"])
    first = table["window"].min()
    assert predicted.loc[(first, "label"), "metric"] == "jensen_shannon"
    assert not predicted.loc[first, "alerted"].any()
    assert predicted.loc[first + 1, "alerted"].to_dict() == {"score": True, "label": True}


def test_since_moves_back_to_its_window_s_start_so_no_window_is_cut_short(
    tmp_path: Path, served: ModelVersion, monitoring_reference: MonitoringReference, cfg: Params
) -> None:
    logs = write_traffic(tmp_path, served, [NO_DRIFT] * 3, rows=400)
    result = run_monitor(logs, monitoring_reference, cfg.monitor, since=START + DAY + 3_600)  # 1 h into day 1
    assert result.windows["rows"].tolist() == [400, 400]
    assert result.windows["start"].tolist() == ["2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z"]
