"""The kserve SDK's InferenceRESTClient against `lockstep serve`, from an environment of its own.

The SDK (0.21) requires pandas below 3 and this project is on pandas 3, so it
cannot join the project's lock. Its environment is installed from
kserve-requirements.txt (every package pinned, with hashes; compiled from
kserve-requirements.in) once per test session, in the folder every worker
shares, and kserve_client.py runs in it and prints what the client got.
"""

from __future__ import annotations

import json
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.clients.environments import install
from tests.conftest import clean_environ
from tests.http_client import Client, free_port, wait_ready
from tests.shared import build_once
from tests.unit.serving.test_serve_faults import serve_process

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "kserve-requirements.txt"
INFERENCES = ["binary", "json", "binary_outputs"]


@pytest.fixture(scope="session")
def kserve_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_once(tmp_path_factory, "kserve-env", partial(install, requirements=REQUIREMENTS))
    return folder / "venv" / "bin" / "python"


@pytest.fixture(scope="module")
def answers(
    kserve_python: Path, bundle: Path, rows: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """What kserve_client.py got from `lockstep serve`, and the server's own metadata (under `metadata`)."""
    folder, port = tmp_path_factory.mktemp("kserve"), free_port()
    process = serve_process(bundle, port, folder / "predictions.jsonl")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, process)
        metadata = Client(base).request("GET", "/v2/models/model")[1]
        # A missing number as JSON's null here (the client makes it NaN again).
        values = {name: [None if pd.isna(v) else v for v in rows[name].tolist()] for name in rows.columns}
        columns = [spec | {"values": values[spec["name"]]} for spec in metadata["inputs"]]
        (folder / "rows.json").write_text(json.dumps(columns, allow_nan=False))
        script = [str(kserve_python), str(HERE / "kserve_client.py"), base, str(folder / "rows.json")]
        result = subprocess.run(script, env=clean_environ(), capture_output=True, text=True, timeout=120, check=False)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) | {"metadata": metadata}


def test_the_server_and_the_model_are_live_and_ready(answers: dict[str, Any]) -> None:
    assert (answers["server_live"], answers["server_ready"], answers["model_ready"]) == (True, True, True)
    assert answers["other_ready"] is False


@pytest.mark.parametrize("inference", INFERENCES)
def test_scores_are_those_of_the_predict_command_bit_for_bit(
    answers: dict[str, Any], predicted: pd.DataFrame, inference: str
) -> None:
    outputs = answers[inference]["outputs"]
    assert [(name, output["datatype"]) for name, output in outputs.items()] == [
        (spec["name"], spec["datatype"]) for spec in answers["metadata"]["outputs"]
    ]
    assert np.array(outputs["score"]["data"]).tobytes() == predicted["score"].to_numpy(np.float64).tobytes()
    assert outputs["label"]["data"] == [str(label) for label in predicted["label"]]


def test_errors_are_in_the_protocols_shape(answers: dict[str, Any]) -> None:
    unknown = answers["unknown_model"]
    assert (unknown["status"], unknown["body"]) == (404, {"error": "no model 'other'; this server serves 'model'"})
    missing = answers["missing_where_none_is_allowed"]
    assert (missing["status"], list(missing["body"])) == (422, ["error"])
    assert "credit_history_years" in missing["body"]["error"]
