"""The bundle's MLServer runtime (serving/mlserver_runtime.py) in a real MLServer, loaded as Seldon Core 2 loads it.

MLServer 1.7 wants a starlette below 0.47, and this project is on starlette 1,
so it cannot join the project's lock: its environment is installed from
mlserver-requirements.txt (every package pinned, with hashes; compiled from
mlserver-requirements.in, whose scoring libraries are uv.lock's versions) once
per test session, and the package is put on its PYTHONPATH. As Seldon's agent
does, the server starts with no model, the bundle is put in its model folder
with its model-settings.json rewritten (name, version, parallel_workers), and
loaded through the model repository API.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lockstep.contract.model_contract import read_contract
from lockstep.io import file_sha256
from lockstep.registry.bundle import MLSERVER_SETTINGS, mlserver_settings
from lockstep.serving.oip import output_types
from lockstep.serving.requests import V2_DATATYPES

from tests.clients.environments import install
from tests.conftest import PACKAGE, REPO_ROOT, clean_environ
from tests.http_client import Client, free_port
from tests.shared import build_once

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "mlserver-requirements.txt"
RUNTIME = f"{PACKAGE}.serving.mlserver_runtime"  # its `start` runs MLServer's in the pinned numerical environment
NAME = "credit-prod"  # the Model's name, which Seldon's agent writes into model-settings.json


@dataclass(frozen=True)
class Served:
    """A running MLServer: its base URL, and the model folder it loads from."""

    base: str
    models: Path


@pytest.fixture(scope="session")
def mlserver_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_once(tmp_path_factory, "mlserver-env", partial(install, requirements=REQUIREMENTS))
    return folder / "venv" / "bin"


def _as_seldon_agent_writes(settings: dict[str, Any]) -> dict[str, Any]:
    """The bundle's settings as Seldon's agent rewrites them: the Model's name, its own version number."""
    return settings | {"name": NAME, "parallel_workers": 0, "parameters": settings["parameters"] | {"version": "1"}}


def _wait(client: Client, path: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    """Poll `path` until it answers 200; fail with the server's log if it does not in time, or exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if client.request("GET", path)[0] == 200:
                return
        except OSError:
            client.close()
        time.sleep(0.1)
    raise AssertionError(f"MLServer did not answer 200 on {path}:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def mlserver(mlserver_bin: Path, bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A running MLServer with the bundle loaded as NAME."""
    folder = tmp_path_factory.mktemp("mlserver")
    models, log, port = folder / "models", folder / "mlserver.log", free_port()
    models.mkdir()
    env = clean_environ() | {
        "PYTHONPATH": str(REPO_ROOT / "src"),
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(port),
        "MLSERVER_GRPC_PORT": str(free_port()),
        "MLSERVER_METRICS_PORT": str(free_port()),
        "MLSERVER_LOAD_MODELS_AT_STARTUP": "false",  # as Seldon's ServerConfig for MLServer sets it
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(mlserver_bin / "python"), "-m", RUNTIME, "start", str(models)],
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base, client = f"http://127.0.0.1:{port}", Client(f"http://127.0.0.1:{port}", timeout=60)
    try:
        started = time.monotonic()
        _wait(client, "/v2/health/live", process, log)
        shutil.copytree(bundle, models / NAME)
        settings = json.loads((bundle / MLSERVER_SETTINGS).read_text())
        (models / NAME / MLSERVER_SETTINGS).write_text(json.dumps(_as_seldon_agent_writes(settings)))
        status, body, _ = client.request("POST", f"/v2/repository/models/{NAME}/load", b"")
        assert status == 200, (body, log.read_text(errors="replace")[-4000:])
        _wait(client, f"/v2/models/{NAME}/ready", process, log)
        print(f"MLServer start to the bundle loaded: {time.monotonic() - started:.1f} s")
        yield Served(base, models)
    finally:
        client.close()
        os.killpg(process.pid, signal.SIGTERM)  # MLServer and its worker processes
        process.wait(timeout=60)


def _inputs(rows: pd.DataFrame, bundle: Path) -> list[dict[str, Any]]:
    """One JSON tensor per contract column, null for a missing number."""
    contract = read_contract(bundle / "contract.json")
    return [
        {
            "name": rule.name,
            "datatype": V2_DATATYPES[rule.dtype],
            "shape": [len(rows)],
            "data": [None if pd.isna(value) else value for value in rows[rule.name].tolist()],
        }
        for rule in contract.columns
    ]


def test_scores_are_those_of_the_predict_command_bit_for_bit(
    mlserver: Served, bundle: Path, rows: pd.DataFrame, predicted: pd.DataFrame
) -> None:
    request = {"id": "client-1", "inputs": _inputs(rows, bundle)}
    status, answer, _ = Client(mlserver.base).request("POST", f"/v2/models/{NAME}/infer", request)
    assert status == 200, answer
    contract = read_contract(bundle / "contract.json")
    outputs = {output["name"]: output for output in answer["outputs"]}
    assert [(name, output["datatype"]) for name, output in outputs.items()] == output_types(contract)
    assert np.array(outputs["score"]["data"], dtype=np.float64).tobytes() == predicted["score"].to_numpy().tobytes()
    assert outputs["label"]["data"] == [str(label) for label in predicted["label"]]
    assert (answer["model_name"], answer["model_version"], answer["id"]) == (NAME, "v0.3.0", "client-1")
    assert answer["parameters"]["model_sha256"] == file_sha256(bundle / "model.skops")


def test_a_request_the_contract_refuses_is_an_error_naming_the_column(
    mlserver: Served, bundle: Path, rows: pd.DataFrame
) -> None:
    inputs = _inputs(rows.head(2), bundle)
    for tensor in inputs:
        if tensor["name"] == "credit_history_years":
            tensor["data"][1] = None
    status, answer, _ = Client(mlserver.base).request("POST", f"/v2/models/{NAME}/infer", {"inputs": inputs})
    assert status == 422, answer
    assert "row 1" in answer["error"]
    assert "credit_history_years" in answer["error"]


def test_a_folder_that_is_not_a_bundle_is_refused_with_the_reason(mlserver: Served) -> None:
    folder = mlserver.models / "not-a-bundle"
    folder.mkdir()
    (folder / MLSERVER_SETTINGS).write_text(json.dumps(mlserver_settings("v0.3.0")))
    (folder / "model.skops").write_bytes(b"not a model")
    status, answer, _ = Client(mlserver.base).request("POST", "/v2/repository/models/not-a-bundle/load", b"")
    assert status >= 400, answer
    assert "is not a bundle folder (no manifest.json)" in answer["error"]


def test_the_environment_scores_with_the_lock_s_libraries() -> None:
    """Every pin of mlserver-requirements.in is the version uv.lock holds, but MLServer's and uvloop's (see there)."""
    locked: dict[str, set[str]] = {}
    for package in tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))["package"]:
        locked.setdefault(package["name"], set()).add(package["version"])
    lines = (HERE / "mlserver-requirements.in").read_text(encoding="utf-8").splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    unlocked = {name for name, version in pins.items() if version not in locked.get(name, set())}
    assert unlocked == {"mlserver", "uvloop"}
