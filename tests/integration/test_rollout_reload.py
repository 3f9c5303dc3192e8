"""A rollback and a promotion reach a running server: `rollout apply`, then SIGHUP, on a real `serve` process.

The repository is real Git with GTO tags: v0.1.0 in `prod`, v0.2.0 (another model) in `canary`, and
params.yaml routes 50% of requests to the canary. The decision is written by hand, or made by
`lockstep rollout report` on the server's own logs and outcomes, applied with the CLI, and the server is
reloaded as the manual says: `kill -HUP`.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from lockstep import registry
from lockstep.config import parse_params
from lockstep.contract.model_contract import build_contract, write_contract
from lockstep.data.prepare import prepare_data
from lockstep.data.synthetic import generate_credit_data
from lockstep.modeling.persistence import save_model
from lockstep.modeling.train import train_model

from tests.conftest import PACKAGE, REPO_ROOT, VENV_BIN, tool_env
from tests.http_client import Client, free_port
from tests.shared import replace, write_params
from tests.unit.conftest import write_lock
from tests.unit.serving.test_api import records

TIMEOUT = 180  # seconds: a loaded 2-core machine starts a server in ~5 s; this never waits without a reason
REQUESTS = 200
NOTICE = "'canary' holds no version (rolled back or promoted): serving prod"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=tool_env(), check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """Three models' files and request payloads (with outcomes) from the same data.

    v1/ and v2/ differ in regularisation; blind/ learnt from shuffled outcomes, so it ranks no better than chance.
    """
    folder = tmp_path_factory.mktemp("models")
    cfg = parse_params(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))
    prepared = prepare_data(generate_credit_data(5_000, seed=5), cfg)
    shuffled = prepared.train.assign(default=prepared.train["default"].sample(frac=1, random_state=0).to_numpy())
    for name, strength, rows in (("v1", 1.0, prepared.train), ("v2", 0.01, prepared.train), ("blind", 1.0, shuffled)):
        model = train_model(rows, prepared.features, replace(cfg, model={**cfg.model, "C": strength}))
        types = save_model(model, folder / name / "model.skops", folder / name / "trusted_types.json")
        write_contract(build_contract(prepared.features, cfg, types), folder / name / "contract.json")
    return folder, records(prepared.test.assign(outcome=prepared.test["default"]))


def make_repo(root: Path, models: Path, names: tuple[str, str], rollout: dict) -> Path:
    """v0.1.0 (`names[0]`) in prod and v0.2.0 (`names[1]`) in canary, each committed with a dvc.lock recording it."""
    (root / "models").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "dvc.yaml").write_text("artifacts:\n  model:\n    path: models/model.skops\n    type: model\n")
    (root / ".gto").write_text((REPO_ROOT / ".gto").read_text())
    write_params(root / "params.yaml", rollout=rollout)
    for name in names:
        for file in (models / name).iterdir():
            (root / "models" / file.name).write_bytes(file.read_bytes())
        write_lock(root / "dvc.lock", root / "models")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"model {name}")
        registry.register(str(root))
    registry.assign(str(root), "v0.1.0", registry.PROD)
    registry.assign(str(root), "v0.2.0", "canary")
    return root


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, tool_env()[key])


@pytest.fixture
def repo(tmp_path: Path, trained: tuple[Path, list[dict]], git_identity: None) -> Path:
    """v0.1.0 in prod and v0.2.0 in canary (different regularisation); a 50% canary."""
    return make_repo(tmp_path / "repo", trained[0], ("v1", "v2"), {"mode": "canary", "percent": 50})


@contextlib.contextmanager
def serve(repo: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`lockstep serve` as the manual runs it (prod from its stage, the rollout of params.yaml), until ready."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                str(VENV_BIN / PACKAGE),
                "serve",
                "--port",
                str(port),
                "--prediction-log",
                str(logs(log) / "predictions.jsonl"),
            ],
            cwd=repo,
            env=tool_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base), f"{base} ready", process, log)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=60)


def logs(server_log: Path) -> Path:
    """The folder of the prediction and feedback logs of the server whose output is `server_log`."""
    return server_log.parent / f"{server_log.stem}-logs"


def _ready(base: str) -> bool:
    with contextlib.suppress(OSError):
        return Client(base, timeout=5).request("GET", "/v2/health/ready")[0] == 200
    return False


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen, log: Path) -> None:
    """Poll `condition` until it holds; fail with the server's log if it does not within TIMEOUT or the server ends."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {what} (exit {process.poll()}):\n{log.read_text()}")
        time.sleep(0.2)


def metric(base: str, sample: str) -> float:
    """The value of one sample of /metrics, named with its labels (e.g. `reloads_total{result="applied"}`)."""
    text = Client(base).request("GET", "/metrics")[1]
    found = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(f"{PACKAGE}_{sample} ")]
    assert found, f"{sample} is not in /metrics"
    return float(found[0])


def answered(base: str, payloads: list[dict], count: int = REQUESTS) -> Counter[tuple[str, str]]:
    """How many of `count` requests each (arm, version) answered; every answer must be a 200 naming both."""
    client, seen = Client(base), Counter[tuple[str, str]]()
    for i in range(count):
        payload = {key: value for key, value in payloads[i % len(payloads)].items() if key != "outcome"}
        status, body, headers = client.request("POST", "/v1/predict", payload)
        assert status == 200, body
        assert headers["x-model-arm"] == body["arm"]
        seen[body["arm"], body["model_version"]] += 1
    client.close()
    return seen


def apply(repo: Path, decision: Path, action: str) -> str:
    """`lockstep rollout apply` of a decision on v0.2.0 in canary, through the CLI; what it printed."""
    record = {"action": action, "mode": "canary", "stage": "canary", "version": "v0.2.0", "percent": None}
    decision.write_text(json.dumps(record | {"reasons": [f"{action} (a test's decision)"]}))
    command = [str(VENV_BIN / PACKAGE), "rollout", "apply", "--decision", str(decision), "--expect", action]
    done = subprocess.run(command, cwd=repo, env=tool_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def reload(base: str, process: subprocess.Popen, log: Path) -> None:
    """SIGHUP, then wait until /metrics counts the reload as applied (a failed one fails the test at once)."""
    process.send_signal(signal.SIGHUP)

    def applied() -> bool:
        assert metric(base, 'reloads_total{result="failed"}') == 0, log.read_text()
        return metric(base, 'reloads_total{result="applied"}') == 1

    wait_for(applied, "applied reload", process, log)


@pytest.mark.parametrize(
    ("action", "printed", "after"),
    [
        ("rollback", "rolled back: v0.2.0 unassigned from canary", ("prod", "v0.1.0")),
        ("promote", "promoted v0.2.0 to prod; canary unassigned", ("prod", "v0.2.0")),
    ],
)
def test_after_apply_and_sighup_prod_answers_alone_and_a_fresh_server_starts(
    repo: Path, trained: tuple[Path, list[dict]], tmp_path: Path, action: str, printed: str, after: tuple[str, str]
) -> None:
    payloads, log = trained[1], tmp_path / "serve.log"
    with serve(repo, log) as (base, process):
        before = answered(base, payloads)
        assert set(before) == {("prod", "v0.1.0"), ("canary", "v0.2.0")}  # 50%: both answer, P(not) ~ 2^-199
        assert metric(base, "rollout_candidate_present") == 1
        assert printed in apply(repo, tmp_path / "decision.json", action)
        reload(base, process, log)
        assert answered(base, payloads) == {after: REQUESTS}
        assert metric(base, "rollout_candidate_present") == 0
    assert log.read_text().count(NOTICE) == 1  # one warning line, at the reload
    fresh = tmp_path / "fresh.log"
    with serve(repo, fresh) as (base, _):  # before: exit 2, "'canary' is not ... a stage with a model in it"
        assert answered(base, payloads, 20) == {after: 20}
        assert metric(base, "rollout_candidate_present") == 0
    assert NOTICE in fresh.read_text()


@pytest.mark.parametrize(
    ("names", "exit_code", "action", "after"),
    [
        (("v1", "blind"), 5, "rollback", ("prod", "v0.1.0")),  # the canary ranks no better than chance
        (("blind", "v1"), 4, "promote", ("prod", "v0.2.0")),  # the canary is far better, at its last step
    ],
)
def test_the_reports_decision_on_the_servers_own_logs_reaches_the_server(
    tmp_path: Path,
    trained: tuple[Path, list[dict]],
    git_identity: None,
    names: tuple[str, str],
    exit_code: int,
    action: str,
    after: tuple[str, str],
) -> None:
    """Users ask, outcomes come back through /v1/feedback, the report decides, apply acts, SIGHUP reloads."""
    rollout = {"mode": "canary", "percent": 50, "sticky_key": "loan_id", "min_outcomes": 200, "planned_outcomes": 1000}
    repo = make_repo(tmp_path / "repo", trained[0], names, rollout)
    users, log = trained[1], tmp_path / "serve.log"
    with serve(repo, log) as (base, process):
        assert sum(answered(base, users, len(users)).values()) == len(users)
        outcomes = [{"id": user["loan_id"], "outcome": user["outcome"]} for user in users]
        assert Client(base).request("POST", "/v1/feedback", outcomes)[0] == 200
        wait_for(lambda: _logged(logs(log)) == (len(users), len(users)), "every line logged", process, log)
        report = subprocess.run(
            [str(VENV_BIN / PACKAGE), "rollout", "report", "--logs", str(logs(log)), "--out", str(tmp_path / "rr")],
            cwd=repo,
            env=tool_env(),
            capture_output=True,
            text=True,
        )
        assert report.returncode == exit_code, report.stdout + report.stderr
        decision = tmp_path / "rr" / "decision.json"
        assert json.loads(decision.read_text())["action"] == action
        command = [str(VENV_BIN / PACKAGE), "rollout", "apply", "--decision", str(decision), "--expect", action]
        applied = subprocess.run(command, cwd=repo, env=tool_env(), capture_output=True, text=True)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        reload(base, process, log)
        assert answered(base, users) == {after: REQUESTS}
    with serve(repo, tmp_path / "fresh.log") as (base, _):
        assert answered(base, users, 20) == {after: 20}


def _logged(folder: Path) -> tuple[int, int]:
    """How many prediction and feedback lines the server has handed to the OS in `folder`."""
    from lockstep.contract.prediction_log import read_feedback, read_predictions

    return sum(1 for _ in read_predictions(folder)), sum(1 for _ in read_feedback(folder))
