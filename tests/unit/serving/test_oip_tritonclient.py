"""The Open Inference Protocol with NVIDIA's tritonclient at its defaults, against `lockstep serve` on 127.0.0.1.

tritonclient's defaults are the binary tensor data extension both ways
(`set_data_from_numpy(..., binary_data=True)`, and every output in binary when
a request names none); JSON is what a client gets with `binary_data=False`.
A missing number travels as NaN, as a NumPy float column holds it. Scores are
compared with `lockstep predict`'s: both console scripts, so both pinned
(numerics.py); the tests of rollouts and of the log serve in this process.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from lockstep.config import parse_rollout
from lockstep.contract.prediction_log import read_predictions
from lockstep.data.prepare import PreparedData
from lockstep.registry.store import ModelVersion
from lockstep.serving.app import create_app
from lockstep.serving.routing import RoutingTable

from tests.conftest import VENV_BIN, tool_env
from tests.http_client import Client, free_port, running, wait_ready
from tests.unit.serving.test_serve_faults import serve_process

NUMPY_TYPES = {"INT64": np.int64, "FP64": np.float64, "BOOL": np.bool_, "BYTES": np.object_}


@pytest.fixture(scope="module")
def server(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`lockstep serve` of the bundle (prod, v0.3.0)."""
    port = free_port()
    process = serve_process(bundle, port, tmp_path_factory.mktemp("log") / "predictions.jsonl")
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def client(server: str) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(server.removeprefix("http://"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def rows(prepared: PreparedData) -> pd.DataFrame:
    """64 test rows, some of them with missing numbers (nullable columns)."""
    frame = prepared.test.head(64).reset_index(drop=True)
    assert frame[["annual_income", "employment_length_years", "credit_utilization"]].isna().any().all()
    return frame


@pytest.fixture(scope="module")
def predicted(rows: pd.DataFrame, bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """What `lockstep predict` writes for `rows`."""
    folder = tmp_path_factory.mktemp("predict")
    rows.to_parquet(folder / "in.parquet", index=False)
    command = [
        str(VENV_BIN / "lockstep"),
        "predict",
        "--model",
        str(bundle),
        "--input",
        str(folder / "in.parquet"),
    ]
    subprocess.run([*command, "--output", str(folder / "out.parquet")], env=tool_env(), check=True)
    return pd.read_parquet(folder / "out.parquet")


def tensors(frame: pd.DataFrame, metadata: dict, **options: bool) -> list[triton.InferInput]:
    """The model's inputs as the metadata describes them: one 1-D tensor per column, NaN where a number is missing."""
    inputs = []
    for spec in metadata["inputs"]:
        numpy_type = NUMPY_TYPES[spec["datatype"]]
        column = frame[spec["name"]]
        values = (
            column.to_numpy(numpy_type, na_value=np.nan) if numpy_type is np.float64 else column.to_numpy(numpy_type)
        )
        tensor = triton.InferInput(spec["name"], list(values.shape), spec["datatype"])
        inputs.append(tensor.set_data_from_numpy(values, **options))
    return inputs


def test_the_server_and_the_model_are_live_ready_and_described_with_and_without_a_version(
    client: triton.InferenceServerClient, prod: ModelVersion
) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("model")
    assert client.is_model_ready("model", prod.version)
    assert not client.is_model_ready("model", "v9.9.9")
    assert not client.is_model_ready("other")
    metadata = client.get_model_metadata("model")
    assert client.get_model_metadata("model", prod.version) == metadata
    assert (metadata["name"], metadata["versions"]) == ("model", [prod.version])
    assert [spec["name"] for spec in metadata["inputs"]] == prod.contract.feature_names
    assert [(spec["name"], spec["datatype"]) for spec in metadata["outputs"]] == [("score", "FP64"), ("label", "BYTES")]
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]


@pytest.mark.parametrize("binary", [True, False], ids=["binary-default", "json"])
def test_scores_are_those_of_the_predict_command_bit_for_bit_missing_numbers_included(
    client: triton.InferenceServerClient, rows: pd.DataFrame, predicted: pd.DataFrame, binary: bool
) -> None:
    metadata = client.get_model_metadata("model")
    result = client.infer("model", tensors(rows, metadata, **({} if binary else {"binary_data": False})))
    response = result.get_response()
    assert response["model_version"] == metadata["versions"][0]
    assert [(o["name"], o["datatype"]) for o in response["outputs"]] == [
        (o["name"], o["datatype"]) for o in metadata["outputs"]
    ]
    assert result.as_numpy("score").tobytes() == predicted["score"].to_numpy(np.float64).tobytes()
    assert result.as_numpy("label").tolist() == [str(label).encode() for label in predicted["label"]]


def test_json_outputs_and_a_named_version_give_the_same_answer(
    client: triton.InferenceServerClient, rows: pd.DataFrame, prod: ModelVersion
) -> None:
    metadata = client.get_model_metadata("model")
    inputs = tensors(rows, metadata)
    binary = client.infer("model", inputs)
    as_json = [triton.InferRequestedOutput(o["name"], binary_data=False) for o in metadata["outputs"]]
    named = client.infer("model", inputs, model_version=prod.version, outputs=as_json)
    assert all("data" in output for output in named.get_response()["outputs"])
    assert [(o["name"], o["datatype"]) for o in named.get_response()["outputs"]] == [
        (o["name"], o["datatype"]) for o in metadata["outputs"]
    ]
    assert named.as_numpy("score").tobytes() == binary.as_numpy("score").tobytes()
    # tritonclient gives a JSON BYTES tensor's elements as str, a binary one's as bytes.
    assert named.as_numpy("label").tolist() == [label.decode() for label in binary.as_numpy("label").tolist()]
    only_label = client.infer("model", inputs, outputs=[triton.InferRequestedOutput("label")])
    assert [o["name"] for o in only_label.get_response()["outputs"]] == ["label"]


def _refusal(call: object) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as raised:
        call()  # type: ignore[operator]
    return raised.value


def test_errors_are_in_the_protocols_shape(client: triton.InferenceServerClient, rows: pd.DataFrame) -> None:
    metadata = client.get_model_metadata("model")
    inputs = tensors(rows.head(2), metadata)
    unknown = _refusal(lambda: client.infer("other", inputs))
    assert (unknown.status(), unknown.message()) == ("404", "no model 'other'; this server serves 'model'")
    version = _refusal(lambda: client.get_model_metadata("model", "v9.9.9"))
    assert version.status() == "404"
    assert "v9.9.9" in version.message()
    # NaN is a missing value, refused where the contract allows none.
    missing = rows.head(2).assign(credit_history_years=[np.nan, 3.0])
    refused = _refusal(lambda: client.infer("model", tensors(missing, metadata)))
    assert refused.status() == "422"
    assert "credit_history_years" in refused.message()
    wrong_type = [triton.InferInput("age", [2], "FP64").set_data_from_numpy(np.array([40.0, 41.0]))]
    refused = _refusal(lambda: client.infer("model", wrong_type + inputs[1:]))
    assert refused.status() == "422"
    assert refused.message() == "age: datatype must be INT64, not 'FP64'"
    named = _refusal(lambda: client.infer("model", inputs, outputs=[triton.InferRequestedOutput("colour")]))
    assert named.status() == "400"
    assert "colour" in named.message()


def test_unknown_paths_and_methods_answer_json(server: str) -> None:
    raw = Client(server)
    for method, path, status in [("GET", "/v2/nowhere", 404), ("GET", "/nowhere", 404), ("POST", "/v2", 405)]:
        got, body, headers = raw.request(method, path)
        assert (got, headers["content-type"]) == (status, "application/json")
        if path.startswith("/v2"):
            assert set(body) == {"error"}
            assert isinstance(body["error"], str)
    status, body, _ = raw.request("POST", "/v2/models/model/infer", b'{"inputs": [')
    assert status == 400
    assert set(body) == {"error"}
    raw.close()


def test_two_requests_with_the_same_id_log_distinct_row_ids(
    prod: ModelVersion, rows: pd.DataFrame, tmp_path: Path
) -> None:
    with running(create_app(prod, tmp_path / "predictions.jsonl")) as base:
        client = triton.InferenceServerClient(base.removeprefix("http://"))
        inputs = tensors(rows.head(2), client.get_model_metadata("model"))
        answers = [client.infer("model", inputs, request_id="same").get_response()["id"] for _ in range(2)]
        client.close()
    assert answers == ["same", "same"]
    ids = [row_id for line in read_predictions(tmp_path) for row_id in line.ids]
    assert len(ids) == 4
    assert len(set(ids)) == 4


def test_a_named_version_is_answered_by_that_version_and_a_shadow_scores_binary_bodies(
    prod: ModelVersion, candidate: ModelVersion, rows: pd.DataFrame, tmp_path: Path
) -> None:
    canary = RoutingTable(parse_rollout({"mode": "canary", "percent": 0}), prod, candidate)
    with running(create_app(canary, tmp_path / "canary" / "predictions.jsonl")) as base:
        client = triton.InferenceServerClient(base.removeprefix("http://"))
        assert client.is_model_ready("model", candidate.version)
        metadata = client.get_model_metadata("model", candidate.version)
        assert metadata["versions"] == [prod.version, candidate.version]
        answer = client.infer("model", tensors(rows.head(3), metadata), model_version=candidate.version)
        assert (answer.get_response()["model_version"], answer.get_response()["parameters"]["arm"]) == (
            candidate.version,
            "canary",
        )
        client.close()
    shadow = RoutingTable(parse_rollout({"mode": "shadow"}), prod, candidate)
    with running(create_app(shadow, tmp_path / "shadow" / "predictions.jsonl")) as base:
        client = triton.InferenceServerClient(base.removeprefix("http://"))
        assert not client.is_model_ready("model", candidate.version)  # a shadow never answers
        client.infer("model", tensors(rows.head(3), client.get_model_metadata("model")))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not [x for x in read_predictions(tmp_path / "shadow") if not x.served]:
            time.sleep(0.05)
        client.close()
    shadowed = [line for line in read_predictions(tmp_path / "shadow") if not line.served]
    assert [(line.model_version, line.error, len(line.outputs["score"])) for line in shadowed] == [
        (candidate.version, None, 3)
    ]
