"""The monitoring report: summary lines first, the same bytes for the same logs, and all or nothing on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockstep.config import Params
from lockstep.data.synthetic import NO_DRIFT, Drift
from lockstep.evaluation.reference import MonitoringReference
from lockstep.monitoring import report
from lockstep.monitoring.monitor import CHECKS, Monitoring, run_monitor
from lockstep.registry.store import ModelVersion

from tests.unit.monitoring.traffic import write_traffic

SHIFT = Drift(shift={"annual_income": 0.5})


@pytest.fixture(scope="module")
def drifted(
    tmp_path_factory: pytest.TempPathFactory,
    served: ModelVersion,
    monitoring_reference: MonitoringReference,
    cfg: Params,
) -> Monitoring:
    logs = write_traffic(tmp_path_factory.mktemp("logs"), served, [NO_DRIFT, SHIFT, SHIFT], labelled=0.3)
    return run_monitor(logs, monitoring_reference, cfg.monitor)


def test_the_report_opens_with_a_summary_line_per_check(drifted: Monitoring, tmp_path: Path) -> None:
    text = report.write_monitor_report(drifted, tmp_path / "out", "version `v0.3.0`").read_text()
    lines = text.splitlines()
    assert lines[0] == "## Monitoring report: 🚨 1 alert fired"
    summary = lines[lines.index("### Summary") + 2 :][: len(CHECKS)]
    assert [line.split("**")[1] for line in summary] == [report.TITLES[check] for check in CHECKS]
    assert summary[1].startswith("- 🚨 **feature drift**: fired on `annual_income wasserstein/std` (prod `v0.3.0`)")
    assert "cannot see a concept shift" in text
    assert "![feature_drift](feature_drift.png)" in text
    record = json.loads((tmp_path / "out" / "monitor.json").read_text())
    assert record["alert"] is True
    assert [(a["check"], a["feature"]) for a in record["alerts"]] == [("feature_drift", "annual_income")]


def test_the_report_is_the_same_bytes_each_time(drifted: Monitoring, tmp_path: Path) -> None:
    first = report.write_monitor_report(drifted, tmp_path / "a", "file `reference.json`").parent
    second = report.write_monitor_report(drifted, tmp_path / "b", "file `reference.json`").parent
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(["monitor.json", "report.md", *(f"{check}.png" for check in CHECKS)])
    assert all((first / name).read_bytes() == (second / name).read_bytes() for name in names)


def test_a_failed_write_leaves_the_previous_report(
    drifted: Monitoring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    report.write_monitor_report(drifted, out, "x", with_plots=False)
    before = (out / "report.md").read_bytes()

    def broken(*args: object) -> list[str]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report, "render_monitor_plots", broken)
    with pytest.raises(OSError, match="No space"):
        report.write_monitor_report(drifted, out, "y")
    assert (out / "report.md").read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
