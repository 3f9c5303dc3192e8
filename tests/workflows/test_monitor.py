"""The monitor workflow's own steps: check serving logs in S3, report, and on an alert start the retraining.

One world for the module: main's model is v0.1.0 in prod. Each scenario writes
a few days of traffic scored by that model (`tests/unit/monitoring/traffic.py`),
uploads it to the S3 bucket (moto) and dispatches the workflow on its prefix.
Run with `make test-workflows` or `pytest -m workflow tests/workflows/test_monitor.py`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lockstep.data.synthetic import NO_DRIFT, Drift
from lockstep.registry.store import load_version

from tests.s3 import BUCKET, s3_client
from tests.unit.monitoring.traffic import START, write_traffic
from tests.workflows.conftest import World
from tests.workflows.harness import Simulation

ISSUE = 11
VERSION = "v0.1.0"
SHIFT = Drift(shift={"annual_income": 0.5})


@pytest.fixture(scope="module")
def in_prod(world: World) -> World:
    """The world with main's model registered as v0.1.0 and assigned to prod."""
    clone = world.clone("main")
    clone.run("gto", "register", "model", "HEAD", "--version", VERSION, env=world.env())
    clone.run("gto", "assign", "model", "--version", VERSION, "--stage", "prod", env=world.env())
    clone.run("git", "push", "-q", "origin", "--tags", env=world.env())
    return world


def upload_traffic(world: World, tmp_path: Path, name: str, days: list[Drift]) -> str:
    """Write `days` of traffic scored by main's model, as v0.1.0 served it, into the bucket; return its URL."""
    served = dataclasses.replace(load_version("workspace", world.main.root), version=VERSION)
    folder = write_traffic(tmp_path / name, served, days, labelled=0.5)
    s3 = s3_client(world.aws_env["AWS_ENDPOINT_URL_S3"])
    for path in folder.iterdir():
        s3.upload_file(str(path), BUCKET, f"serving-logs/{name}/{path.name}")
    return f"s3://{BUCKET}/serving-logs/{name}"


def dispatches(sim: Simulation) -> list[dict]:
    """The workflow dispatches the run made through `gh`."""
    return json.loads(sim.gh_state.read_text())["dispatches"] if sim.gh_state.exists() else []


def summary(sim: Simulation) -> str:
    """The monitor job's step summary."""
    (path,) = sim.work_dir.glob("workspace-monitor-*-summary.md")
    return path.read_text()


def test_clean_traffic_is_reported_and_starts_nothing(in_prod: World, tmp_path: Path) -> None:
    logs = upload_traffic(in_prod, tmp_path, "clean", [NO_DRIFT] * 3)
    jobs, sim = in_prod.dispatch_monitor({"logs": logs, "since": str(START)}, ISSUE)
    job = jobs["monitor"]
    assert job.passed, job.report()
    assert not job.step("Start the retraining workflow").ran
    assert dispatches(sim) == []
    report = summary(sim)
    assert report.startswith("## Monitoring report: ✅")
    assert VERSION in report
    (comment,) = json.loads(sim.cml_state.read_text())["comments"]
    assert comment["watermark"] == "Monitoring report"
    assert comment["body"] == report
    (call,) = json.loads(sim.cml_state.read_text())["calls"]
    assert f"--target=issue/{ISSUE}" in call["argv"]


def test_drifted_traffic_alerts_and_dispatches_the_retraining(in_prod: World, tmp_path: Path) -> None:
    logs = upload_traffic(in_prod, tmp_path, "drifted", [NO_DRIFT, SHIFT, SHIFT])
    # A duration ago, as MONITOR_SINCE's default (14d) is, but long enough for traffic dated 2026-12-01.
    jobs, sim = in_prod.dispatch_monitor({"logs": logs, "since": "3650d"}, ISSUE)
    job = jobs["monitor"]
    assert job.passed, job.report()
    assert summary(sim).startswith("## Monitoring report: 🚨")
    (dispatch,) = dispatches(sim)
    assert dispatch["workflow"] == "retrain.yml"
    assert dispatch["ref"] == "main"
    assert dispatch["repository"] == "acme/credit-risk"
    assert dispatch["inputs"]["reason"].startswith("monitor: ")
    assert "alert(s) on prod's traffic: feature drift: fired on annual_income" in dispatch["inputs"]["reason"]
    assert "Monitoring report" in json.loads(sim.cml_state.read_text())["comments"][0]["watermark"]
