"""`simulate` against a real server (in this process): the rows it sends, the outcomes it posts, its errors."""

from __future__ import annotations

import http.client
import select
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lockstep.cli import main
from lockstep.contract.prediction_log import read_feedback, read_predictions
from lockstep.data.simulate import post_json, simulated_rows
from lockstep.data.synthetic import Drift
from lockstep.registry.store import ModelVersion, load_version
from lockstep.serving.app import create_app

from tests.conftest import PACKAGE
from tests.http_client import running


@pytest.fixture(scope="module")
def loaded(bundle: Path) -> ModelVersion:
    return load_version(str(bundle))


def simulate(loaded: ModelVersion, logs: Path, *options: str) -> tuple[int, list, list]:
    """Run `simulate` against a fresh server logging to `logs`; its exit code, then the logged predictions and outcomes."""
    with running(create_app(loaded, logs / "predictions.jsonl")) as base:
        code = main(["simulate", "--url", base, "--concurrency", "3", *options])
    return code, list(read_predictions(logs)), list(read_feedback(logs))


def test_sends_each_row_and_posts_each_outcome(
    loaded: ModelVersion, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code, predictions, feedback = simulate(loaded, tmp_path, "--rows", "40", "--seed", "7", "--outcome-delay", "0")
    assert code == 0
    summary = capsys.readouterr().out
    assert summary.startswith("simulate: sent 40 rows to http://127.0.0.1:")
    assert summary.endswith(": 40 answered, 0 errors (0 refused, 0 failed); 40 outcomes posted\n")
    records, outcomes = simulated_rows(40, 7, Drift())
    expected = {record["loan_id"]: outcome for record, outcome in zip(records, outcomes, strict=True)}
    assert sorted(row_id for record in predictions for row_id in record.ids) == sorted(expected)
    assert {record.id: record.outcome for record in feedback} == expected
    assert len(feedback) == 40


def test_outcomes_come_after_the_delay_and_only_for_answered_rows(
    loaded: ModelVersion, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    options = ("--rows", "30", "--new-category", "loan_purpose=crypto:0.5", "--outcome-delay", "0.3")
    code, predictions, feedback = simulate(loaded, tmp_path, *options)
    assert code == 0
    answered = {row_id: record.time for record in predictions for row_id in record.ids}
    refused = 30 - len(answered)
    assert 5 < refused < 25  # the contract refuses the unknown category
    assert f"{len(answered)} answered, {refused} errors ({refused} refused, 0 failed)" in capsys.readouterr().out
    assert {record.id for record in feedback} == set(answered)
    assert all(record.time >= answered[record.id] + 0.25 for record in feedback)


def test_a_keep_alive_connection_the_server_closed_is_opened_again(loaded: ModelVersion, tmp_path: Path) -> None:
    """uvicorn closes a connection idle for `timeout_keep_alive`: the outcome poster's, while outcomes are not due."""
    import uvicorn

    app = create_app(loaded, tmp_path / "predictions.jsonl")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", timeout_keep_alive=0.2)
    outcome = {"id": "S1-L000000001", "outcome": 0}
    with running(app, config) as base:
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(base).port, timeout=10)
        assert post_json(connection, "/v1/feedback", outcome)[0] == 200
        assert select.select([connection.sock], [], [], 10)[0]  # the server closed it: its end can be read
        assert post_json(connection, "/v1/feedback", outcome)[0] == 200
        connection.close()


def test_no_outcomes_posts_none(loaded: ModelVersion, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, predictions, feedback = simulate(loaded, tmp_path, "--rows", "5", "--no-outcomes", "--shift", "age=0.5")
    assert (code, len(predictions), feedback) == (0, 5, [])
    assert "; 0 outcomes posted" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--rows", "0"], "--rows 0: give a positive integer"),
        (["--concurrency", "many"], "--concurrency many: give an integer from 1 to 64"),
        (["--outcome-delay", "-1"], "--outcome-delay -1: give seconds, 0 or more"),
        (["--shift", "age"], "--shift age: write FEATURE=K"),
        (["--missing", "nope=0.1"], "--missing: 'nope' is not one of "),
        (["--prior", "2"], "--prior: 2.0 is not a rate between 0 and 1"),
        (["--url", "localhost:8080"], "--url localhost:8080: give the server's base URL"),
    ],
)
def test_a_bad_option_exits_2_with_one_line(option: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["simulate", "--rows", "1", *option]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"{PACKAGE} simulate: error: {message}")
    assert error.count("\n") == 1


def test_no_server_exits_2(capsys: pytest.CaptureFixture) -> None:
    assert main(["simulate", "--url", "http://127.0.0.1:9", "--rows", "2"]) == 2
    assert "no row was answered by http://127.0.0.1:9: ConnectionRefusedError" in capsys.readouterr().err
