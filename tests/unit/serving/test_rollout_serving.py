"""Rollouts on a real server on 127.0.0.1, with two bundles of different models: prod v0.3.0, candidate v0.4.0.

A failing or slow shadow is a test-only wrapper around the candidate's model,
put into the routing table (never a model file). The shadow's own tests are in test_shadow.py.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lockstep.config import parse_rollout
from lockstep.contract.prediction_log import read_feedback, read_predictions
from lockstep.modeling.predict import predict_frame
from lockstep.registry.store import ModelVersion
from lockstep.serving.app import create_app
from lockstep.serving.requests import V2_DATATYPES
from lockstep.serving.routing import RoutingTable

from tests.conftest import PACKAGE
from tests.http_client import Client, running

TOKEN = "s3cret-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


class Raising:
    """A model whose every prediction raises."""

    def __init__(self, model: Any) -> None:
        self.classes_ = model.classes_

    def get_params(self) -> dict[str, Any]:
        return {}

    def set_params(self, **params: Any) -> Raising:
        return self

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("the candidate is broken")


class Sleeping(Raising):
    """A model that takes a second per call, then answers as the model it wraps."""

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        self.model = model

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        time.sleep(1)
        return self.model.predict_proba(features)


def table(prod: ModelVersion, candidate: ModelVersion | None, **rollout: Any) -> RoutingTable:
    return RoutingTable(parse_rollout(rollout), prod, candidate)


def keyed(payloads: list[dict], count: int) -> list[dict]:
    """`count` requests, each with its own loan_id (a user), cycling through `payloads`' features."""
    return [payloads[i % len(payloads)] | {"loan_id": f"U{i:09d}"} for i in range(count)]


def fire(base: str, payloads: list[dict], clients: int = 32) -> list[tuple[int, bytes, dict[str, str]]]:
    """POST each payload to /v1/predict from `clients` keep-alive connections; the answers in payload order."""
    answers: list[Any] = [None] * len(payloads)

    def client_run(first: int) -> None:
        client = Client(base)
        for i in range(first, len(payloads), clients):
            answers[i] = client.raw_request("POST", "/v1/predict", payloads[i])
        client.close()

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_run, range(clients)))
    return answers


def metric(base: str, name: str) -> float:
    """The value of one sample of /metrics (0 if absent)."""
    text = Client(base).request("GET", "/metrics")[1]
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(f"{PACKAGE}_{name} ")]
    values += [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(f"{PACKAGE}_{name}" + "{")
    ]
    return sum(values)


def test_canary_answers_name_their_arm_and_version_and_keep_them_per_user(
    prod: ModelVersion, candidate: ModelVersion, payloads: list[dict], tmp_path: Path
) -> None:
    log = tmp_path / "predictions.jsonl"
    users = keyed(payloads, 30)
    with running(create_app(table(prod, candidate, mode="canary", percent=50, sticky_key="loan_id"), log)) as base:
        client = Client(base)
        first = [client.request("POST", "/v1/predict", user) for user in users]
        again = [client.request("POST", "/v1/predict", user)[1]["arm"] for user in users]
        infer_status, infer, infer_headers = client.request("POST", "/v2/models/model/infer", _v2(users[0], prod))
    versions = {"prod": prod, "canary": candidate}
    for (status, body, headers), user in zip(first, users, strict=True):
        assert status == 200
        assert headers["x-model-arm"] == body["arm"]
        loaded = versions[body["arm"]]
        assert (body["model_version"], body["model_sha256"]) == (loaded.version, loaded.sha256)
        frame = pd.DataFrame([user])
        assert body["predictions"][0]["score"] == predict_frame(loaded.model, frame, loaded.contract)["score"][0]
    arms = [answer[1]["arm"] for answer in first]
    assert set(arms) == {"prod", "canary"}
    assert again == arms
    assert infer_status == 200
    assert infer["parameters"]["arm"] == infer_headers["x-model-arm"] == arms[0]
    logged = list(read_predictions(tmp_path))
    assert len(logged) == 61
    assert all(line.served and line.model_version == versions[line.arm].version for line in logged)
    assert [line.arm for line in logged[:30]] == arms  # one client: logged in request order


def _v2(record: dict, loaded: ModelVersion) -> dict:
    """`record` as an Open Inference Protocol request (the id column as BYTES)."""
    types = {rule.name: V2_DATATYPES[rule.dtype] for rule in loaded.contract.columns}
    tensors = [{"name": k, "shape": [1], "datatype": types.get(k, "BYTES"), "data": [v]} for k, v in record.items()]
    return {"inputs": tensors}


@pytest.mark.parametrize(
    ("body", "status", "field", "rule"),
    [
        (b"{", 400, "$", "malformed_json"),
        (b"[]", 422, "$", "type"),
        (b"3", 422, "$", "type"),
        (b'{"id": "L1"}', 422, "outcome", "missing"),
        (b'{"outcome": 1}', 422, "id", "missing"),
        (b'{"id": "L1", "outcome": 2}', 422, "outcome", "category"),
        (b'{"id": "L1", "outcome": true}', 422, "outcome", "category"),
        (b'{"id": "L1", "outcome": "1"}', 422, "outcome", "category"),
        (b'{"id": null, "outcome": 1}', 422, "id", "type"),
        (b'{"id": ["L1"], "outcome": 1}', 422, "id", "type"),
        (b'{"id": "L1", "outcome": 1, "note": "x"}', 422, "note", "unknown_field"),
        (b'[{"id": "L1", "outcome": 1}, 7]', 422, "$[1]", "type"),
    ],
)
def test_feedback_refuses_a_bad_body_naming_the_field(
    prod: ModelVersion, body: bytes, status: int, field: str, rule: str, tmp_path: Path
) -> None:
    with running(create_app(prod, tmp_path / "predictions.jsonl")) as base:
        got, answer, _ = Client(base).request("POST", "/v1/feedback", body)
    assert got == status
    assert (answer["errors"][0]["field"], answer["errors"][0]["rule"]) == (field, rule)
    assert list(read_feedback(tmp_path)) == []


def test_feedback_is_appended_next_to_the_prediction_log(
    prod: ModelVersion, payloads: list[dict], tmp_path: Path
) -> None:
    with running(create_app(prod, tmp_path / "predictions.jsonl")) as base:
        client = Client(base)
        predicted = client.request("POST", "/v1/predict", payloads[:2])[1]["predictions"]
        assert client.request("POST", "/v1/feedback", {"id": predicted[0]["id"], "outcome": 1})[1] == {"recorded": 1}
        many = [{"id": predicted[1]["id"], "outcome": 0}, {"id": "L-late", "outcome": 1}]
        assert client.request("POST", "/v1/feedback", many)[1] == {"recorded": 2}
    feedback = list(read_feedback(tmp_path))
    assert [(f.id, f.outcome) for f in feedback] == [(predicted[0]["id"], 1), (predicted[1]["id"], 0), ("L-late", 1)]


def test_admin_rollout_needs_the_token_and_a_valid_config(
    prod: ModelVersion, candidate_bundle: Path, payloads: list[dict], tmp_path: Path
) -> None:
    app = create_app(prod, tmp_path / "predictions.jsonl", admin_token=TOKEN)
    canary = {"mode": "canary", "percent": 100, "candidate": str(candidate_bundle)}
    with running(app) as base:
        client = Client(base)
        assert client.request("POST", "/admin/rollout", canary)[0] == 401
        status, body, _ = client.request("POST", "/admin/rollout", {**canary, "percent": 200}, AUTH)
        assert (status, body["errors"][0]["field"]) == (422, "rollout.percent")
        status, body, _ = client.request("POST", "/admin/rollout", {**canary, "candidate": "v9.9.9"}, AUTH)
        assert (status, body["errors"][0]["field"]) == (422, "candidate")
        assert (
            client.request("POST", "/v1/predict", payloads[0])[1]["arm"] == "prod"
        )  # the failed changes changed nothing
        status, body, _ = client.request("POST", "/admin/rollout", canary, AUTH)
        assert (status, body["arms"]) == (200, {"prod": "v0.3.0", "canary": "v0.4.0"})
        assert client.request("POST", "/v1/predict", payloads[0])[1]["model_version"] == "v0.4.0"
        assert client.request("POST", "/admin/rollout", {"mode": "none"}, AUTH)[1]["arms"] == {"prod": "v0.3.0"}
        assert client.request("POST", "/v1/predict", payloads[0])[1]["arm"] == "prod"


def test_changing_the_percentage_under_load_at_32_clients_fails_no_request(
    prod: ModelVersion, candidate_bundle: Path, payloads: list[dict], tmp_path: Path
) -> None:
    app = create_app(prod, tmp_path / "predictions.jsonl", admin_token=TOKEN)
    stop = threading.Event()
    with running(app) as base:

        def client_run(index: int) -> list[tuple[int, str]]:
            client, seen = Client(base), []
            while not stop.is_set():
                status, body, _ = client.request("POST", "/v1/predict", payloads[(index + len(seen)) % len(payloads)])
                seen.append((status, body.get("arm", "")))
            return seen

        admin = Client(base)
        with ThreadPoolExecutor(32) as pool:
            answers = pool.map(client_run, range(32))
            for percent in (10, 25, 50, 100, 0, 10):
                rollout = {"mode": "canary", "percent": percent, "candidate": str(candidate_bundle)}
                assert admin.request("POST", "/admin/rollout", rollout, AUTH)[0] == 200
                time.sleep(0.3)
            stop.set()
            seen = [answer for client in answers for answer in client]
    assert len(seen) >= 64
    assert {status for status, _ in seen} == {200}
    assert {arm for _, arm in seen} == {"prod", "canary"}
