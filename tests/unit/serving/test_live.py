"""The live signals in /metrics: a real server's window of recent rows, measured against its version's reference."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.pipeline import Pipeline

from lockstep.contract.model_contract import ModelContract
from lockstep.data.prepare import PreparedData
from lockstep.data.synthetic import NO_DRIFT, Drift, generate_credit_data
from lockstep.evaluation.metrics import predict
from lockstep.evaluation.reference import fit_monitoring_reference
from lockstep.io import dumps_json, file_sha256
from lockstep.registry.store import ModelVersion, load_version
from lockstep.serving.app import create_app
from lockstep.serving.live import LiveWindow, columns_of

from tests.conftest import PACKAGE
from tests.http_client import Client, running
from tests.unit.serving.test_api import records


@pytest.fixture(scope="module")
def profiled(
    bundle: Path,
    tmp_path_factory: pytest.TempPathFactory,
    trained: Pipeline,
    prepared: PreparedData,
    contract: ModelContract,
) -> ModelVersion:
    """The bundle with the reference evaluate would write for it: every feature's profile, the test set's scores."""
    folder = tmp_path_factory.mktemp("profiled") / "bundle"
    shutil.copytree(bundle, folder)
    reference = fit_monitoring_reference(prepared.train, predict(trained, prepared.test, contract), contract)
    (folder / "reference.json").write_bytes(dumps_json(reference.to_dict()).encode())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["reference"]["sha256"] = file_sha256(folder / "reference.json")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return load_version(str(folder))


def gauges(base: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics' samples: name -> {sorted labels: value}."""
    client = Client(base)
    try:
        status, text, _ = client.request("GET", "/metrics")
    finally:
        client.close()
    assert status == 200
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def send(base: str, frame: pd.DataFrame, rows_per_request: int = 100) -> None:
    """POST `frame`'s rows to /v1/predict, `rows_per_request` at a time; every request must be answered."""
    client = Client(base)
    try:
        rows = records(frame)
        for start in range(0, len(rows), rows_per_request):
            status, body, _ = client.request("POST", "/v1/predict", rows[start : start + rows_per_request])
            assert status == 200, body
    finally:
        client.close()


@pytest.fixture
def served(profiled: ModelVersion, tmp_path: Path) -> Iterator[str]:
    with running(create_app(profiled, tmp_path / "predictions.jsonl")) as base:
        yield base


def traffic(rows: int, seed: int, drift: Drift = NO_DRIFT) -> pd.DataFrame:
    """Synthetic requests, kept within the contract's age range (a shift may push a few past it)."""
    frame = generate_credit_data(rows, seed, drift=drift)
    return frame[frame["age"] <= 100].drop(columns=["default"])


def distances(found: dict, version: str) -> dict[str, tuple[float, float]]:
    """Each feature's (distance, floor) for `version`."""
    distance, floor = found[f"{PACKAGE}_feature_drift_distance"], found[f"{PACKAGE}_feature_drift_floor"]
    return {
        dict(labels)["feature"]: (value, floor[labels])
        for labels, value in distance.items()
        if dict(labels)["model_version"] == version
    }


def test_a_shifted_feature_moves_its_gauge_past_the_floor_and_the_others_stay_under(
    served: str, profiled: ModelVersion
) -> None:
    send(served, traffic(3_000, seed=21, drift=Drift(shift={"age": 1.0})))
    found = gauges(served)
    version = (("model_version", profiled.version),)
    assert found[f"{PACKAGE}_drift_window_rows"][version] == 3_000
    measured = distances(found, profiled.version)
    assert sorted(measured) == sorted(profiled.contract.feature_names)
    assert measured["age"][0] > 5 * measured["age"][1]  # a shift of one std: a distance of about 1
    assert {name: d for name, (d, floor) in measured.items() if d >= floor} == {"age": measured["age"][0]}
    assert found[f"{PACKAGE}_score_drift_distance"][version] > 0
    estimate = found[f"{PACKAGE}_performance_estimate"][(("metric", "roc_auc"), *version)]
    assert 0.5 < estimate < 1


def test_clean_traffic_keeps_every_gauge_under_its_floor(served: str, profiled: ModelVersion) -> None:
    send(served, traffic(3_000, seed=22))
    found = gauges(served)
    measured = distances(found, profiled.version)
    assert len(measured) == len(profiled.contract.feature_names)
    assert {name: d for name, (d, floor) in measured.items() if d >= floor} == {}
    version = (("model_version", profiled.version),)
    assert found[f"{PACKAGE}_score_drift_distance"][version] < found[f"{PACKAGE}_score_drift_floor"][version]
    assert gauges(served)[f"{PACKAGE}_feature_drift_distance"] == found[f"{PACKAGE}_feature_drift_distance"]


def test_a_version_without_a_reference_exposes_no_live_signal(profiled: ModelVersion, tmp_path: Path) -> None:
    older = dataclasses.replace(profiled, reference_bytes=None)
    with running(create_app(older, tmp_path / "predictions.jsonl")) as base:
        send(base, traffic(200, seed=23))
        found = gauges(base)
    assert f"{PACKAGE}_arm_requests_total" in found
    live = ("drift_window_rows", "feature_drift_distance", "score_drift_distance", "performance_estimate")
    assert [name for name in live if f"{PACKAGE}_{name}" in found] == []


def test_the_window_keeps_the_last_rows_whole_requests_at_a_time(profiled: ModelVersion) -> None:
    window = LiveWindow(rows=100)
    for start in range(0, 250, 30):
        rows = [{"age": i} for i in range(start, min(start + 30, 250))]
        window.add(profiled, rows, {"score": [i / 250 for i in range(start, start + len(rows))]})
    [(version, recent)] = list(window.windows({profiled.version}))
    assert version == profiled.version
    assert recent.seen == 250
    assert 100 <= recent.rows < 130
    kept, outputs = columns_of(list(recent.chunks), window.rows)
    assert [row["age"] for row in kept] == list(range(150, 250))
    assert outputs["score"] == [i / 250 for i in range(150, 250)]
    assert list(window.windows({"v9.9.9"})) == []  # a version no longer served: its window is dropped


def test_a_reference_that_does_not_read_leaves_metrics_answering(
    profiled: ModelVersion, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = dataclasses.replace(profiled, reference_bytes=b"{}")
    with running(create_app(broken, tmp_path / "predictions.jsonl")) as base:
        send(base, traffic(200, seed=24))
        found = gauges(base)  # a 200, with the server's other metrics
    assert f"{PACKAGE}_arm_requests_total" in found
    assert f"{PACKAGE}_feature_drift_distance" not in found
    assert "cannot be measured" in caplog.text
