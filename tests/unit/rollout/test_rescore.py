"""The report on a real canary: a real server, real versions, users who ask twice and post one outcome each.

The false promotion the issue reproduced: two versions that differ only in their regularisation, in a
canary at 50% of 600 users. Judged per arm, the arms' users decide the metric; judged on the same
users, scored by both versions, the two are alike, and the candidate is not promoted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lockstep.config import parse_rollout
from lockstep.contract.prediction_log import read_predictions
from lockstep.data.prepare import PreparedData
from lockstep.errors import PipelineError
from lockstep.registry.store import ModelVersion, load_version
from lockstep.rollout import rescore
from lockstep.rollout.decide import Action
from lockstep.rollout.report import build_rollout
from lockstep.serving.app import create_app
from lockstep.serving.routing import RoutingTable

from tests.http_client import Client, running
from tests.shared import replace, shipped_params
from tests.unit.serving.test_api import records

USERS = 600


@pytest.fixture(scope="module")
def versions(bundle: Path, candidate_bundle: Path) -> tuple[ModelVersion, ModelVersion]:
    return load_version(str(bundle)), load_version(str(candidate_bundle))


@pytest.fixture(scope="module")
def canary_logs(
    versions: tuple[ModelVersion, ModelVersion], prepared: PreparedData, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A canary at 50% (sticky by loan id) served 600 users twice each; each posted one outcome."""
    folder = tmp_path_factory.mktemp("logs")
    rollout = parse_rollout({"mode": "canary", "percent": 50, "sticky_key": "loan_id"})
    users = prepared.test.head(USERS)
    with running(create_app(RoutingTable(rollout, *versions), folder / "predictions.jsonl")) as base:
        client = Client(base)
        for _ in range(2):
            for record in records(users):
                status, body, _ = client.request("POST", "/v1/predict", record)
                assert status == 200, body
        outcomes = [{"id": i, "outcome": int(y)} for i, y in zip(users["loan_id"], users["default"], strict=True)]
        status, body, _ = client.request("POST", "/v1/feedback", outcomes)
        assert status == 200, body
        client.close()
    return folder


def test_an_equal_candidate_is_judged_on_the_same_users_and_not_promoted(
    canary_logs: Path, versions: tuple[ModelVersion, ModelVersion]
) -> None:
    scorers = {loaded.version: rescore.version_scorer(loaded) for loaded in versions}
    gate = replace(shipped_params().gate, metric="roc_auc", bootstrap_resamples=200)
    settings = parse_rollout({"mode": "canary", "percent": 50, "min_outcomes": 200})
    rollout = build_rollout(canary_logs, settings, gate, seed=0, positive_class=1, scorers=scorers)
    prod, canary = rollout.arms
    assert prod.requests + canary.requests == 2 * USERS
    assert prod.outcomes + canary.outcomes == USERS  # users, not log lines: each asked twice
    assert rollout.comparison.outcomes == USERS  # both versions scored every user
    assert rollout.decision.action is not Action.PROMOTE, rollout.decision.reasons
    bounds = rollout.comparison.bounds
    assert bounds.low < 0 < bounds.high


def test_rescoring_gives_the_scores_each_version_served_to_the_bit(
    canary_logs: Path, versions: tuple[ModelVersion, ModelVersion]
) -> None:
    for loaded in versions:
        served = [r for r in read_predictions(canary_logs) if r.model_version == loaded.version]
        inputs = [row for record in served for row in record.inputs]
        logged = np.array([score for record in served for score in record.outputs["score"]])
        rescored = rescore.version_scorer(loaded)(inputs)["score"]
        assert np.array_equal(rescored, logged)


def test_a_version_whose_bytes_differ_from_the_logs_is_refused(
    versions: tuple[ModelVersion, ModelVersion], bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rescore, "load_version", lambda version: versions[0])
    assert set(rescore.load_scorers({"v0.3.0": versions[0].sha256})) == {"v0.3.0"}
    with pytest.raises(PipelineError, match=r"^the logs name v0.3.0 with model sha256 000000000000…"):
        rescore.load_scorers({"v0.3.0": "0" * 64})


def test_a_logged_row_the_contract_refuses_is_an_error(versions: tuple[ModelVersion, ModelVersion]) -> None:
    with pytest.raises(PipelineError, match="does not pass v0.3.0's contract"):
        rescore.version_scorer(versions[0])([{"age": "old"}])
