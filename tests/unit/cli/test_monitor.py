"""The monitor command: exit 0 with no alert, 6 when one fired, 2 with one line on bad input and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockstep.cli import main
from lockstep.data.synthetic import NO_DRIFT, Drift
from lockstep.evaluation.reference import MonitoringReference
from lockstep.registry.store import ModelVersion

from tests.conftest import PACKAGE
from tests.shared import write_params
from tests.unit.monitoring.traffic import START, write_traffic


@pytest.fixture
def files(tmp_path: Path, monitoring_reference: MonitoringReference) -> dict[str, Path]:
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps(monitoring_reference.to_dict()))
    return {"reference": reference, "params": write_params(tmp_path / "params.yaml"), "out": tmp_path / "out"}


def monitor(files: dict[str, Path], logs: Path, *extra: str) -> int:
    args = ["monitor", "--logs", str(logs), "--out", str(files["out"]), "--params", str(files["params"])]
    return main([*args, *extra])


def test_no_alert_exits_0_and_an_alert_exits_6(
    tmp_path: Path, served: ModelVersion, files: dict[str, Path], capsys: pytest.CaptureFixture
) -> None:
    clean = write_traffic(tmp_path / "clean", served, [NO_DRIFT], rows=1_000)
    assert monitor(files, clean, "--reference", str(files["reference"])) == 0
    assert capsys.readouterr().out == f"monitor: {files['out'] / 'report.md'}: 0 alerts fired\n"
    shift = Drift(shift={"annual_income": 0.5})
    drifted = write_traffic(tmp_path / "drifted", served, [shift, shift], rows=1_000)
    output = tmp_path / "github-output"
    assert monitor(files, drifted, "--reference", str(files["reference"]), "--output", str(output)) == 6
    assert "monitor: feature_drift: annual_income wasserstein/std (prod v0.3.0)" in capsys.readouterr().out
    assert output.read_text() == "alert=true\nalerts=1\n"


def test_the_reference_comes_from_the_registry(
    tmp_path: Path, served: ModelVersion, bundle: Path, files: dict[str, Path]
) -> None:
    logs = write_traffic(tmp_path / "logs", served, [NO_DRIFT], rows=500)
    assert monitor(files, logs, "--version", str(bundle)) in (0, 6)
    assert json.loads((files["out"] / "monitor.json").read_text())["reference"] == "version `v0.3.0`"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no logs", "--logs {logs}/missing: no such folder; pull the prediction logs first"),
        ("bad reference", "--reference {reference}: not a monitoring reference"),
        ("too late", "--logs {logs}: no prediction records since the given time to monitor"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case: str,
    message: str,
    tmp_path: Path,
    served: ModelVersion,
    files: dict[str, Path],
    capsys: pytest.CaptureFixture,
) -> None:
    logs = write_traffic(tmp_path / "logs", served, [NO_DRIFT], rows=100)
    args = ["--reference", str(files["reference"])]
    if case == "no logs":
        logs = logs / "missing"
    elif case == "bad reference":
        files["reference"].write_text("{}")
    else:
        args += ["--since", str(int(START + 86_400))]
    assert monitor(files, logs, *args) == 2
    error = capsys.readouterr().err
    expected = message.format(logs=tmp_path / "logs", reference=files["reference"])
    assert error.startswith(f"{PACKAGE} monitor: error: {expected}")
    assert error.count("\n") == 1
    assert not files["out"].exists()


def test_since_takes_a_time_an_epoch_second_or_a_duration_ago() -> None:
    import argparse
    import time

    from lockstep.cli.common import utc_time

    assert utc_time("2026-12-01T00:00") == utc_time("2026-12-01T01:00+01:00") == 1_796_083_200.0
    assert utc_time("1796083200") == 1_796_083_200.0
    assert abs(utc_time("7d") - (time.time() - 7 * 86_400)) < 60
    assert abs(utc_time("36h") - (time.time() - 36 * 3_600)) < 60
    with pytest.raises(argparse.ArgumentTypeError, match="'last week' is not a time such as .* or 7d"):
        utc_time("last week")
