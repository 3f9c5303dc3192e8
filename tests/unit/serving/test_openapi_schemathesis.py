"""The OpenAPI document against the server: every route described, and schemathesis's checks, all of them.

schemathesis reads /openapi.json from a real server on 127.0.0.1 and sends
what the document allows (each answer must be a 2xx) and what it does not
(each must be refused with a 4xx), checking every answer's status, headers,
content type and body against the document. The server counts its own 5xx in
/metrics, which the test reads back.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from lockstep.registry.store import ModelVersion
from lockstep.serving.app import create_app
from lockstep.serving.server import server_config

from tests.conftest import PACKAGE, VENV_BIN
from tests.http_client import Client, running

EXAMPLES = 10  # per operation in the fuzzing phase; the coverage phase adds each schema's boundary cases (~1,700)
# The stateful phase is left out: it chains calls through links between resources (create, then read or delete),
# and this API has none (the 12 links schemathesis infers are guesses); it would double the run (16 s to 30-45 s
# on 2 cores at load 6) while, with nothing to chain, it tests nothing the other phases do not.

# Infer's bodies, where the document can say less than the server checks: JSON Schema cannot say that every input
# tensor holds as many rows as the others, nor that `shape` is that number, so a body it allows may be refused.
CONFIG = """
[[operations]]
include-path-regex = "/infer$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "422"]
"""


def test_the_document_describes_every_route(prod: ModelVersion, tmp_path: Path) -> None:
    """Before: only POST /v1/predict was described."""
    app = create_app(prod, tmp_path / "log.jsonl")
    with running(app) as base:
        client = Client(base)
        document = client.request("GET", "/openapi.json")[1]
        client.close()
    routes = {(route.path, method.lower()) for route in app.routes for method in route.methods if method != "HEAD"}
    described = {
        (path, method) for path, item in document["paths"].items() for method in item if method != "parameters"
    }
    assert described == routes


def test_schemathesis_finds_no_server_error_and_nothing_the_document_does_not_say(
    prod: ModelVersion, tmp_path: Path
) -> None:
    # The admin endpoints are on, with a token schemathesis is not given: it sees them refuse (401), never swap.
    app = create_app(prod, tmp_path / "log.jsonl", admin_token="not-given-to-schemathesis")
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    with running(app, server_config(app, "127.0.0.1", 0)) as base:
        started = time.monotonic()
        run = subprocess.run(
            [
                str(VENV_BIN / "schemathesis"),
                *("--config-file", str(tmp_path / "schemathesis.toml"), "--no-color"),
                *("run", f"{base}/openapi.json", "--checks", "all", "--max-examples", str(EXAMPLES)),
                *("--seed", "19", "--workers", "1", "--generation-database", "none", "--request-timeout", "30"),
                *("--phases", "examples,coverage,fuzzing"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        seconds = time.monotonic() - started
        client = Client(base)
        metrics = client.request("GET", "/metrics")[1]
        client.close()
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    requests = sum(float(n) for n in re.findall("^" + PACKAGE + r"_requests_total\{.*\} (\S+)$", metrics, re.M))
    server_errors = re.findall("^" + PACKAGE + r"_server_errors_total\{(.*)\} (\S+)$", metrics, re.M)
    assert server_errors, metrics
    assert all(float(n) == 0 for _, n in server_errors), server_errors
    print(f"schemathesis: {requests:.0f} requests in {seconds:.0f} s, 0 server errors\n{summary}")
