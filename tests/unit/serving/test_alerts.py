"""The alert rules and the dashboard in monitoring/: promtool accepts the rules, and every metric they name is served."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from lockstep.registry.store import ModelVersion
from lockstep.serving.app import create_app

from tests.conftest import PACKAGE, REPO_ROOT
from tests.http_client import Client, running

MONITORING = REPO_ROOT / "monitoring"
RULES, RULE_TESTS, DASHBOARD = MONITORING / "alerts.yml", MONITORING / "alerts_test.yml", MONITORING / "dashboard.json"
METRIC = re.compile(rf"\b{PACKAGE}_[a-z0-9_]+")
# What a family of each type puts in the exposition (a family with labels shows none until its first sample).
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def promtool(*args: str) -> subprocess.CompletedProcess:
    """Run promtool; fail (not skip) when it is missing."""
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: `make monitoring-tools` installs it (Debian's prometheus package)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, check=False, cwd=MONITORING)


def test_promtool_checks_the_alert_rules() -> None:
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alert_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def panel_queries() -> list[str]:
    """The PromQL expression of every panel's targets in the dashboard."""
    board = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]


def dashboard_queries() -> list[str]:
    """Every query of the dashboard: its panels' targets and its variables' (Grafana's label_values)."""
    variables = json.loads(DASHBOARD.read_text())["templating"]["list"]
    return panel_queries() + [v["definition"] for v in variables if v["type"] == "query"]


def test_promtool_parses_every_query_of_the_dashboard(tmp_path: Path) -> None:
    """Each panel's query as a recording rule: `promtool check rules` parses it as Prometheus would."""
    rules = [{"record": f"dashboard:panel_{i}", "expr": expr} for i, expr in enumerate(panel_queries())]
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(tmp_path / "dashboard.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def served_names(text: str) -> set[str]:
    """The metric names in a /metrics page: every sample's, and what each declared family would show."""
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in SAMPLE_SUFFIXES.get(family.type, ())}
    return names


@pytest.fixture(scope="module")
def metrics_page(prod: ModelVersion, payloads: list[dict], tmp_path_factory: pytest.TempPathFactory) -> str:
    """/metrics of a real server after good and bad requests (prod's bundle has a reference: the live signals show)."""
    log = tmp_path_factory.mktemp("alerts") / "predictions.jsonl"
    with running(create_app(prod, log)) as base:
        client = Client(base)
        assert client.request("POST", "/v1/predict", payloads[:50])[0] == 200
        assert client.request("POST", "/v1/predict", {"age": "41"})[0] == 422
        status, text, _ = client.request("GET", "/metrics")
        client.close()
    assert status == 200
    return text


def test_every_metric_the_rules_and_the_dashboard_name_is_in_a_live_servers_metrics(metrics_page: str) -> None:
    rules = yaml_exprs(RULES)
    named = {name for expr in [*rules, *dashboard_queries()] for name in METRIC.findall(expr)}
    assert len(rules) == 10
    assert f"{PACKAGE}_feature_drift_distance" in named
    assert sorted(named - served_names(metrics_page)) == []
    served = {s.name for family in text_string_to_metric_families(metrics_page) for s in family.samples}
    live = {f"{PACKAGE}_{name}" for name in ("drift_window_rows", "feature_drift_distance", "score_drift_distance")}
    assert live <= served  # measured, not only declared


def yaml_exprs(path: Path) -> list[str]:
    """The `expr` of every rule in a Prometheus rules file."""
    return [rule["expr"] for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]
