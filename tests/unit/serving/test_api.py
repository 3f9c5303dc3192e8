"""The HTTP API, served by uvicorn on 127.0.0.1 and called over real sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lockstep.config import Task
from lockstep.contract.prediction_log import log_lines, read_predictions
from lockstep.data.prepare import PreparedData
from lockstep.modeling.predict import predict_frame
from lockstep.registry.store import ModelVersion, load_version
from lockstep.serving.app import create_app
from lockstep.serving.batch import score_files
from lockstep.serving.batcher import MicroBatcher
from lockstep.serving.feedback import feedback_records
from lockstep.serving.requests import BadRequestError, check_requests

from tests.conftest import PACKAGE
from tests.http_client import Client, running


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready Python values (nulls as None), exactly as stored."""
    return pa.Table.from_pandas(frame.drop(columns=["default"], errors="ignore"), preserve_index=False).to_pylist()


@pytest.fixture(scope="module")
def loaded(bundle: Path) -> ModelVersion:
    return load_version(str(bundle))


@pytest.fixture(scope="module")
def server(loaded: ModelVersion, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("log") / "predictions.jsonl"
    with running(create_app(loaded, log)) as base:
        yield base, log


@pytest.fixture
def client(server: tuple[str, Path]) -> Iterator[Client]:
    client = Client(server[0])
    yield client
    client.close()


def test_one_record_and_a_list_are_predicted_as_in_process(
    client: Client, loaded: ModelVersion, prepared: PreparedData
) -> None:
    rows = prepared.test.head(5)
    status, body, headers = client.request("POST", "/v1/predict", records(rows)[0], {"x-request-id": "abc"})
    assert status == 200
    assert headers["x-request-id"] == "abc"
    assert (body["model_version"], body["model_sha256"]) == ("v0.3.0", loaded.sha256)
    assert body["predictions"][0]["id"] == rows["loan_id"].iloc[0]
    status, body, _ = client.request("POST", "/v1/predict", records(rows))
    expected = predict_frame(loaded.model, rows.reset_index(drop=True), loaded.contract)
    assert [p["score"] for p in body["predictions"]] == expected["score"].tolist()
    assert [p["label"] for p in body["predictions"]] == expected["label"].tolist()


def test_online_and_batch_predictions_are_identical(
    server: tuple[str, Path], loaded: ModelVersion, prepared: PreparedData, tmp_path: Path
) -> None:
    """Single-record requests from 8 clients at once (the server batches them as it likes) against a file."""
    rows = prepared.test.head(200)
    rows.to_parquet(tmp_path / "rows.parquet", index=False)
    score_files(
        tmp_path / "rows.parquet", loaded, tmp_path / "out.parquet", tmp_path / "rejects.parquet", batch_rows=64
    )
    batch = pd.read_parquet(tmp_path / "out.parquet")
    as_records = records(rows)

    def ask(chunk: range) -> list[dict]:
        client = Client(server[0])
        return [client.request("POST", "/v1/predict", as_records[i])[1]["predictions"][0] for i in chunk]

    with ThreadPoolExecutor(8) as pool:
        online = [p for chunk in pool.map(ask, [range(i, len(rows), 8) for i in range(8)]) for p in chunk]
    online.sort(key=lambda p: list(rows["loan_id"]).index(p["id"]))
    assert [p["id"] for p in online] == batch["loan_id"].tolist()
    online_scores = np.array([p["score"] for p in online])
    assert online_scores.tobytes() == batch["score"].to_numpy().tobytes()
    assert [p["label"] for p in online] == batch["label"].tolist()


def _bad(prepared: PreparedData, **changes: object) -> dict:
    record = records(prepared.test.head(1))[0]
    for field, value in changes.items():
        if value is DELETE:
            del record[field]
        else:
            record[field] = value
    return record


DELETE = object()
BAD_RECORDS = [
    ({"age": "41"}, "age", "type"),
    ({"age": 41.5}, "age", "type"),
    ({"age": True}, "age", "type"),
    ({"age": 17}, "age", "range"),
    ({"age": 101}, "age", "range"),
    ({"age": None}, "age", "null"),
    ({"age": DELETE}, "age", "missing"),
    ({"annual_income": -5.0}, "annual_income", "range"),
    ({"annual_income": [1]}, "annual_income", "type"),
    ({"annual_income": {"a": 1}}, "annual_income", "type"),
    ({"interest_rate": 1e308}, "interest_rate", "range"),
    ({"annual_income": 10**400}, "annual_income", "type"),
    ({"loan_term_months": 48}, "loan_term_months", "category"),
    ({"employment_type": "astronaut"}, "employment_type", "category"),
    ({"employment_type": 3}, "employment_type", "type"),
    ({"employment_type": None}, "employment_type", "null"),
    ({"home_ownership": DELETE}, "home_ownership", "missing"),
    ({"colour": "blue"}, "colour", "unknown_field"),
    ({"default": 1}, "default", "unknown_field"),
]


@pytest.mark.parametrize(
    ("changes", "field", "rule"), BAD_RECORDS, ids=[f"{f}-{r}-{i}" for i, (_, f, r) in enumerate(BAD_RECORDS)]
)
def test_a_bad_field_is_a_422_naming_the_field_and_rule(
    client: Client, prepared: PreparedData, changes: dict, field: str, rule: str
) -> None:
    status, body, _ = client.request("POST", "/v1/predict", _bad(prepared, **changes))
    assert status == 422
    assert [(e["field"], e["rule"]) for e in body["errors"]] == [(field, rule)]
    assert body["errors"][0]["message"].startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("body", "status", "field", "rule"),
    [
        (b"{not json", 400, "$", "malformed_json"),
        (b"", 400, "$", "malformed_json"),
        (b"\xff\xfe", 400, "$", "malformed_json"),
        (b'"a string"', 422, "$", "type"),
        (b"42", 422, "$", "type"),
        (b"[1]", 422, "$[0]", "type"),
        (b'{"age": NaN}', 400, "$", "malformed_json"),
    ],
)
def test_a_body_that_is_not_records_is_refused(client: Client, body: bytes, status: int, field: str, rule: str) -> None:
    got, parsed, _ = client.request("POST", "/v1/predict", body)
    assert got == status
    assert [(e["field"], e["rule"]) for e in parsed["errors"]] == [(field, rule)]


def test_a_chunked_body_over_the_limit_is_a_413(client: Client) -> None:
    """A chunked body declares no length: what it sends is counted (before, only a declared length was checked)."""
    chunk = b"[" + b"0," * 500_000 + b"0]"
    client.connection.request("POST", "/v1/predict", body=iter([chunk] * 9), encode_chunked=True)
    response = client.connection.getresponse()
    assert (response.status, json.loads(response.read())["errors"][0]["rule"]) == (413, "too_large")


DEEP_OR_NOT_UTF8 = {
    "arrays 1,000 deep": b"[" * 1000 + b"]" * 1000,
    "objects 1,000 deep": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "arrays 100,000 deep": b"[" * 100_000,
    "a string not UTF-8": b'{"age": "\xff\xfe"}',
    "a key not UTF-8": b'[{"\xc3": 1}]',
}


@pytest.mark.parametrize("path", ["/v1/predict", "/v2/models/model/infer", "/v1/feedback"])
@pytest.mark.parametrize("body", DEEP_OR_NOT_UTF8.values(), ids=DEEP_OR_NOT_UTF8.keys())
def test_a_body_too_deep_or_not_utf8_is_a_400_on_every_endpoint(client: Client, path: str, body: bytes) -> None:
    """Not a 500 (msgspec raises RecursionError and UnicodeDecodeError): both are checked before decoding."""
    status, parsed, _ = client.request("POST", path, body)
    assert status == 400
    assert "UTF-8" in str(parsed) or "levels deep; at most 32" in str(parsed)


def test_every_record_that_is_not_an_object_is_listed(client: Client) -> None:
    status, parsed, _ = client.request("POST", "/v1/predict", b'[1, {}, "a", null]')
    assert status == 422
    assert [(e["row"], e["field"], e["rule"]) for e in parsed["errors"]] == [
        (0, "$[0]", "type"),
        (2, "$[2]", "type"),
        (3, "$[3]", "type"),
    ]


def test_an_empty_list_gets_an_empty_list_of_predictions(client: Client, loaded: ModelVersion) -> None:
    """Before: a 422 (`empty`), although the OpenAPI schema allows an empty list."""
    status, body, headers = client.request("POST", "/v1/predict", [], {"x-request-id": "none"})
    assert status == 200
    assert body == {"arm": "prod", "model_version": "v0.3.0", "model_sha256": loaded.sha256, "predictions": []}
    assert (headers["x-request-id"], headers["x-model-arm"]) == ("none", "prod")


def test_missing_fields_do_not_hide_the_other_problems(
    client: Client, loaded: ModelVersion, prepared: PreparedData
) -> None:
    """Before: `{"age": "x"}` listed 13 missing fields and not the type error on `age`."""
    status, parsed, _ = client.request("POST", "/v1/predict", {"age": "x"})
    assert status == 422
    missing = sorted(set(loaded.contract.feature_names) - {"age"})
    assert [(e["field"], e["rule"]) for e in parsed["errors"]] == [(name, "missing") for name in missing] + [
        ("age", "type")
    ]
    body = [_bad(prepared), _bad(prepared, colour="blue", age=17, home_ownership=DELETE)]
    status, parsed, _ = client.request("POST", "/v1/predict", body)
    assert sorted((e["row"], e["field"], e["rule"]) for e in parsed["errors"]) == [
        (1, "age", "range"),
        (1, "colour", "unknown_field"),
        (1, "home_ownership", "missing"),
    ]


def test_row_ids_are_unique_per_request_whatever_id_the_client_sends(client: Client, prepared: PreparedData) -> None:
    """Before: two requests with the same x-request-id got (and logged) the same row ids `<id>:<i>`."""
    rows = [{k: v for k, v in record.items() if k != "loan_id"} for record in records(prepared.test.head(2))]
    answers = [client.request("POST", "/v1/predict", rows, {"x-request-id": "same"}) for _ in range(2)]
    assert [headers["x-request-id"] for _, _, headers in answers] == ["same", "same"]
    ids = [prediction["id"] for _, body, _ in answers for prediction in body["predictions"]]
    assert len(set(ids)) == 4
    assert all(row_id.endswith((":0", ":1")) for row_id in ids)


def test_an_outcome_too_large_for_a_float_is_refused(loaded: ModelVersion) -> None:
    """Before: an OverflowError (a 500) for a regression model's outcome of 10**400, which JSON allows."""
    regression = dataclasses.replace(loaded.contract, task=Task.REGRESSION, classes=None, positive_class=None)
    with pytest.raises(BadRequestError) as refused:
        feedback_records({"id": "a:0", "outcome": 10**400}, regression)
    assert [(p.field, p.rule) for p in refused.value.problems] == [("outcome", "category")]
    assert feedback_records({"id": "a:0", "outcome": 10**300}, regression)[0].outcome == 10**300


def test_every_problem_of_every_record_is_listed(client: Client, prepared: PreparedData) -> None:
    body = [_bad(prepared, age=17), _bad(prepared), _bad(prepared, employment_type="x", interest_rate=2.0)]
    status, parsed, _ = client.request("POST", "/v1/predict", body)
    assert status == 422
    assert sorted((e["row"], e["field"], e["rule"]) for e in parsed["errors"]) == [
        (0, "age", "range"),
        (2, "employment_type", "category"),
        (2, "interest_rate", "range"),
    ]


def test_requests_checked_together_are_refused_alone(loaded: ModelVersion, prepared: PreparedData) -> None:
    """What the micro-batcher does with requests that wait together: each passes whole, or fails alone."""
    good = records(prepared.test.head(3))
    requests = [good[:2], [good[2], _bad(prepared, age=17)], [_bad(prepared, colour="blue")], good[2:]]
    checked = check_requests(requests, loaded.contract)
    assert [o if isinstance(o, slice) else None for o in checked.outcomes] == [slice(0, 2), None, None, slice(2, 3)]
    assert [(p.row, p.field, p.rule) for p in checked.outcomes[1].problems] == [(1, "age", "range")]
    assert [(p.row, p.field, p.rule) for p in checked.outcomes[2].problems] == [(0, "colour", "unknown_field")]
    # Only the accepted requests' rows are scored, and they score as they would alone.
    scored = loaded.predict(checked.columns)
    alone = loaded.predict(check_requests([good], loaded.contract).columns)
    assert scored["score"].tobytes() == alone["score"].tobytes()


def test_a_bad_request_among_concurrent_good_ones_changes_none_of_their_answers(
    server: tuple[str, Path], loaded: ModelVersion, prepared: PreparedData
) -> None:
    rows = prepared.test.head(64)
    expected = predict_frame(loaded.model, rows.reset_index(drop=True), loaded.contract)["score"].tolist()
    bodies = [(i, record) for i, record in enumerate(records(rows))] + [(-1, _bad(prepared, age=17))] * 64

    def ask(chunk: list[tuple[int, dict]]) -> list[tuple[int, int, dict]]:
        client = Client(server[0])
        return [(i, *client.request("POST", "/v1/predict", body)[:2]) for i, body in chunk]

    with ThreadPoolExecutor(16) as pool:
        answers = [a for chunk in pool.map(ask, [bodies[i::16] for i in range(16)]) for a in chunk]
    assert sorted((i, body["predictions"][0]["score"]) for i, status, body in answers if i >= 0) == list(
        enumerate(expected)
    )
    refused = [body["errors"] for i, status, body in answers if i < 0 and status == 422]
    assert len(refused) == 64
    assert all([(e["row"], e["field"], e["rule"]) for e in errors] == [(0, "age", "range")] for errors in refused)


def test_open_inference_protocol_v2(client: Client, loaded: ModelVersion, prepared: PreparedData) -> None:
    assert client.request("GET", "/v2/health/live")[:2] == (200, {"live": True})
    assert client.request("GET", "/v2/health/ready")[1]["ready"] is True
    status, meta, _ = client.request("GET", "/v2/models/model")
    assert status == 200
    assert [i["name"] for i in meta["inputs"]] == loaded.contract.feature_names
    rows = prepared.test.head(4)
    as_records = records(rows)
    datatypes = {i["name"]: i["datatype"] for i in meta["inputs"]}
    inputs = [
        {"name": name, "shape": [len(rows)], "datatype": datatypes[name], "data": [r[name] for r in as_records]}
        for name in loaded.contract.feature_names
    ]
    status, body, _ = client.request("POST", "/v2/models/model/infer", {"id": "r1", "inputs": inputs})
    assert status == 200
    assert (body["model_name"], body["model_version"], body["id"]) == ("model", "v0.3.0", "r1")
    outputs = {o["name"]: o["data"] for o in body["outputs"]}
    expected = predict_frame(loaded.model, rows.reset_index(drop=True), loaded.contract)
    assert outputs["score"] == expected["score"].tolist()
    assert client.request("POST", "/v2/models/other/infer", {"inputs": inputs})[0] == 404
    inputs[0] = inputs[0] | {"datatype": "BYTES"}
    status, body, _ = client.request("POST", "/v2/models/model/infer", {"inputs": inputs})
    assert (status, body) == (422, {"error": "age: datatype must be INT64, not 'BYTES'"})
    inputs[0] = inputs[0] | {"datatype": datatypes[inputs[0]["name"]], "shape": [3]}
    status, body, _ = client.request("POST", "/v2/models/model/infer", {"inputs": inputs})
    assert (status, body) == (422, {"error": "age: shape [3] does not fit 4 values; use [rows] or [rows, 1]"})


def test_metrics_count_requests_errors_latency_and_predictions(client: Client, prepared: PreparedData) -> None:
    client.request("POST", "/v1/predict", records(prepared.test.head(3)))
    client.request("POST", "/v1/predict", _bad(prepared, age=17))
    status, text, _ = client.request("GET", "/metrics")
    assert status == 200
    for series in (
        'requests_total{endpoint="/v1/predict",status="200"}',
        'request_errors_total{rule="range"}',
        'request_latency_seconds_bucket{endpoint="/v1/predict",le="0.1"}',
        'prediction_score_count{model_version="v0.3.0"}',
    ):
        assert f"{PACKAGE}_" + series in text


def test_the_openapi_description_follows_the_contract(client: Client, loaded: ModelVersion) -> None:
    status, doc, _ = client.request("GET", "/openapi.json")
    assert status == 200
    record = doc["components"]["schemas"]["Record"]
    assert record["required"] == loaded.contract.feature_names
    assert record["properties"]["age"] == {"type": "integer", "minimum": 18, "maximum": 100}
    assert record["properties"]["annual_income"]["type"] == ["number", "null"]
    assert "422" in doc["paths"]["/v1/predict"]["post"]["responses"]


def test_unknown_routes_and_methods_are_4xx(client: Client) -> None:
    assert client.request("GET", "/v1/predict")[0] == 405
    assert client.request("GET", "/nowhere")[0] == 404
    assert client.request("POST", "/admin/model", {"model": "v0.1.0"})[0] == 404  # no token: hot swap is off


def test_each_prediction_is_logged_off_the_request_path(
    loaded: ModelVersion, prepared: PreparedData, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "predictions.jsonl"
    with running(create_app(loaded, log)) as base:
        client = Client(base)
        for request_id in ("one", "two"):
            client.request("POST", "/v1/predict", records(prepared.test.head(2)), {"x-request-id": request_id})
        client.close()
    entries = [json.loads(line) for line in log_lines(log.parent, "predictions")]
    assert [e["request_id"] for e in entries] == ["one", "two"]
    assert entries[0]["model_version"] == "v0.3.0"
    assert entries[0]["ids"] == prepared.test["loan_id"].head(2).tolist()
    assert entries[0]["inputs"][0]["age"] == prepared.test["age"].iloc[0]
    assert len(entries[0]["outputs"]["score"]) == 2
    assert entries[0]["latency_ms"] > 0


def test_a_refused_request_is_logged_with_its_rules_and_only_the_monitor_reads_it(
    loaded: ModelVersion, prepared: PreparedData, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "predictions.jsonl"
    bad = _bad(prepared, age=-5)
    with running(create_app(loaded, log)) as base:
        client = Client(base)
        assert client.request("POST", "/v1/predict", bad, {"x-request-id": "bad"})[0] == 422
        assert client.request("POST", "/v1/predict", b"{not json")[0] == 400  # never parsed: not logged
        assert client.request("POST", "/v1/predict", records(prepared.test.head(1)), {"x-request-id": "ok"})[0] == 200
        client.close()
    logged = list(read_predictions(log.parent, refusals=True))
    assert [(r.request_id, r.refused) for r in logged] == [("bad", ["range"]), ("ok", None)]
    assert (logged[0].ids, logged[0].outputs, logged[0].error) == ([], {}, None)
    assert logged[0].inputs == [bad]
    assert [r.request_id for r in read_predictions(log.parent)] == ["ok"]  # the rollout's view


class _FailsOnAge99:
    """A scorer that raises when any row it is given has age 99, and otherwise scores as `scorer`."""

    def __init__(self, scorer: object) -> None:
        self.scorer = scorer
        self.classes_ = scorer.classes_

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        if (features["age"] == 99).any():
            raise RuntimeError("age 99")
        return self.scorer.predict_proba(features)


def test_a_request_that_fails_the_model_call_fails_alone(loaded: ModelVersion, prepared: PreparedData) -> None:
    """Requests that wait together share a model call; when it raises, each is scored alone to find the culprit."""
    picky = dataclasses.replace(loaded, scorer=_FailsOnAge99(loaded.scorer))
    good, culprit = records(prepared.test.head(2))[0], records(prepared.test.head(2))[1] | {"age": 99}

    async def together() -> list[object]:
        batcher = MicroBatcher()
        waiting = [asyncio.ensure_future(batcher.predict(picky, [record])) for record in (good, culprit, good)]
        batcher.start()  # after the three are queued: they are taken as one batch
        answers = await asyncio.gather(*waiting, return_exceptions=True)
        await batcher.stop()
        return answers

    first, failed, third = asyncio.run(together())
    expected = loaded.predict(check_requests([[good]], loaded.contract).columns)["score"].tolist()
    assert first["score"] == third["score"] == expected
    assert isinstance(failed, RuntimeError)
