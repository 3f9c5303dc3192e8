"""The rollout report on synthetic logs written through the log schema: per-arm numbers, decision, files, CLI.

The synthetic versions score from the logged inputs alone (`tests/rollout_logs.py`), so the report can
score every user with both, as it does with real versions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lockstep.cli import main
from lockstep.config import parse_rollout
from lockstep.errors import PipelineError
from lockstep.rollout.decide import Action
from lockstep.rollout.evidence import load_evidence
from lockstep.rollout.report import build_rollout, write_rollout_report

from tests.conftest import PACKAGE
from tests.rollout_logs import Arm, scorers, write_logs
from tests.shared import replace, shipped_params, write_params

GATE = replace(shipped_params().gate, metric="roc_auc", bootstrap_resamples=200)
PROD = Arm("v0.1.0", signal=1.0)


def report(folder: Path, candidate: Arm | None = None, **rollout: object) -> object:
    versions = scorers(PROD, candidate) if candidate else None
    return build_rollout(folder, parse_rollout(rollout), GATE, seed=0, positive_class=1, scorers=versions)


def test_a_shadow_is_compared_on_the_same_rows(tmp_path: Path) -> None:
    write_logs(tmp_path, "shadow", 600, PROD, Arm("v0.2.0", signal=1.0, error_rate=0.005), seed=1)
    rollout = report(tmp_path, mode="shadow", min_outcomes=100)
    prod, shadow = rollout.arms
    assert (prod.arm, prod.served, shadow.arm, shadow.served) == ("prod", True, "shadow", False)
    assert prod.requests == shadow.requests == 600
    assert shadow.share == 1.0
    assert 0 < shadow.error_rate < 0.02
    assert shadow.agreement is not None
    assert 0.5 < shadow.agreement < 1
    assert rollout.comparison.outcomes == shadow.outcomes < prod.outcomes == 600  # users both scored, once each
    assert rollout.decision.action is Action.WAIT  # the same model quality: no promotion


def test_an_ab_arm_that_is_better_by_a_known_margin_is_promoted(tmp_path: Path) -> None:
    better = Arm("v0.2.0", signal=1.8)
    write_logs(tmp_path, "ab", 1200, PROD, better, seed=2)
    rollout = report(tmp_path, better, mode="ab", min_outcomes=200)
    assert rollout.comparison.outcomes == 1200  # both versions scored every user
    assert 0 < rollout.comparison.bounds.low < rollout.comparison.interval.low
    assert rollout.decision.action is Action.PROMOTE
    assert rollout.decision.version == "v0.2.0"


def test_an_ab_test_without_a_difference_keeps_collecting(tmp_path: Path) -> None:
    same = Arm("v0.2.0", signal=1.0)
    write_logs(tmp_path, "ab", 1200, PROD, same, seed=3)
    assert report(tmp_path, same, mode="ab", min_outcomes=200).decision.action is Action.WAIT


def test_a_canary_widens_and_waits_for_its_outcomes(tmp_path: Path) -> None:
    better = Arm("v0.2.0", signal=1.8)
    write_logs(tmp_path, "canary", 1500, PROD, better, share=0.3, seed=4)
    widened = report(tmp_path, better, mode="canary", percent=10, min_outcomes=200)
    assert (widened.decision.action, widened.decision.percent) == (Action.NEXT_STEP, 25)
    few = tmp_path / "few"
    write_logs(few, "canary", 1500, PROD, better, share=0.3, outcomes=0.1, seed=4)
    assert report(few, better, mode="canary", percent=10, min_outcomes=200).decision.action is Action.WAIT


def test_outcomes_for_some_rows_keep_the_labels_classes(tmp_path: Path) -> None:
    write_logs(tmp_path, "ab", 300, PROD, Arm("v0.2.0"), outcomes=0.5, seed=9)
    rows = load_evidence(tmp_path, positive_class=1).rows
    assert 100 < rows["has_outcome"].sum() < 200
    assert set(rows.loc[rows["has_outcome"], "outcome"]) == {"0", "1"} == set(rows["label"])


def test_an_earlier_candidates_records_are_left_out(tmp_path: Path) -> None:
    write_logs(tmp_path / "old", "canary", 200, PROD, Arm("v0.2.0", error_rate=0.5), share=0.5, seed=5)
    write_logs(tmp_path / "new", "canary", 200, PROD, Arm("v0.3.0"), share=0.5, seed=6)
    merged = tmp_path / "logs"
    merged.mkdir()
    for name in ("predictions.jsonl", "feedback.jsonl"):
        (merged / name).write_bytes((tmp_path / "old" / name).read_bytes())
        (merged / f"{name}.1").write_bytes(b"")
    # The newer candidate's lines come later (a later `time`), as the server appends them.
    lines = [json.loads(line) for line in (tmp_path / "new" / "predictions.jsonl").read_text().splitlines()]
    with (merged / "predictions.jsonl").open("a") as log:
        for line in lines:
            log.write(json.dumps(line | {"time": line["time"] + 10_000, "request_id": "n" + line["request_id"]}) + "\n")
    evidence = load_evidence(merged, positive_class=1)
    assert set(evidence.requests.loc[evidence.requests["arm"] == "canary", "version"]) == {"v0.3.0"}
    assert evidence.dropped["canary"] > 50
    assert "prod" not in evidence.dropped


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such folder"),
        (b"", "no prediction records"),
        (b'{"request_id": 1}\n', "does not match the log schema"),
    ],
)
def test_unreadable_logs_fail_with_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    folder = tmp_path / "logs"
    if content is not None:
        folder.mkdir()
        (folder / "predictions.jsonl").write_bytes(content)
    with pytest.raises(PipelineError, match=message):
        load_evidence(folder)


def test_the_report_files_are_written_and_deterministic(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_logs(logs, "canary", 400, PROD, Arm("v0.2.0", error_rate=0.05), share=0.3, seed=7)
    rollout = report(logs, mode="canary", percent=10)
    first, second = tmp_path / "a", tmp_path / "b"
    write_rollout_report(rollout, first)
    write_rollout_report(rollout, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == ["decision.json", "latency.png", "report.md", "scores.png"]
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)
    text = (first / "report.md").read_text()
    assert text.startswith("## Rollout report: ↩️ roll the candidate back")
    assert "| canary | `v0.2.0` |" in text
    assert "![scores](scores.png)" in text
    decision = json.loads((first / "decision.json").read_text())
    assert (decision["action"], decision["stage"], decision["version"]) == ("rollback", "canary", "v0.2.0")


def test_the_exit_status_names_the_decision_and_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    write_logs(tmp_path / "logs", "shadow", 1000, PROD, Arm("v0.2.0", signal=1.8), seed=8)
    params = tmp_path / "params.yaml"
    gate = shipped_params().gate.model_dump(mode="json") | {"metric": "roc_auc", "bootstrap_resamples": 200}
    write_params(params, seed=1, gate=gate, rollout={"mode": "shadow", "min_outcomes": 100})
    output = tmp_path / "github-output"
    assert main(["rollout", "report", "--logs", "logs", "--out", "out", "--output", str(output)]) == 4  # promote
    assert output.read_text() == "decision=promote\nstage=shadow\nversion=v0.2.0\n"
    write_params(params, rollout={"mode": "shadow", "steps": [50, 10]})
    capsys.readouterr()
    assert main(["rollout", "report", "--logs", "logs", "--out", "again"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{PACKAGE} rollout: error: invalid params: rollout: steps must rise strictly, e.g. [10, 25, 50, 100]"
    ]
    assert not (tmp_path / "again").exists()


def test_a_multiclass_log_is_judged_on_its_class_scores(tmp_path: Path) -> None:
    import msgspec

    from lockstep.contract.outputs import PROBA_PREFIX
    from lockstep.contract.prediction_log import FeedbackRecord, PredictionRecord

    encoder, lines, feedback = msgspec.json.Encoder(), [], []
    for i in range(600):
        truth = "abc"[i % 3]
        for arm, right in (("prod", i % 2 == 0), ("shadow", True)):
            label = truth if right else "abc"[(i + 1) % 3]
            scores = {f"{PROBA_PREFIX}{c}": [0.8 if c == label else 0.1] for c in "abc"}  # as the server writes
            record = PredictionRecord(
                request_id=f"r{i}", time=i, arm=arm, served=arm == "prod", model_version=f"v-{arm}",
                model_sha256="x", ids=[i], inputs=[{}], outputs={"label": [label], **scores}, latency_ms=1.0,
            )  # fmt: skip
            lines.append(encoder.encode(record))
        feedback.append(encoder.encode(FeedbackRecord(id=i, outcome=truth, time=i)))
    (tmp_path / "predictions.jsonl").write_bytes(b"\n".join(lines))
    (tmp_path / "feedback.jsonl").write_bytes(b"\n".join(feedback))
    rollout = build_rollout(
        tmp_path, parse_rollout({"mode": "shadow", "min_outcomes": 10}), replace(GATE, metric="accuracy"), seed=0
    )
    assert (rollout.evidence.task, rollout.evidence.classes) == ("multiclass", ["a", "b", "c"])
    prod, shadow = rollout.arms
    assert (prod.metric, shadow.metric, shadow.agreement) == (0.5, 1.0, 0.5)
    assert rollout.decision.action is Action.PROMOTE


@pytest.mark.parametrize("repeats", [1, 3, 10])
def test_a_user_counts_once_however_often_they_ask(tmp_path: Path, repeats: int) -> None:
    same = Arm("v0.2.0")
    write_logs(tmp_path, "canary", 300, PROD, same, share=0.5, seed=10, repeats=repeats)
    rollout = report(tmp_path, same, mode="canary", percent=50, min_outcomes=100)
    rows = rollout.evidence.rows
    for arm in rollout.arms:
        assert arm.rows == repeats * rows.loc[rows["arm"] == arm.arm, "id"].nunique()
        assert arm.outcomes == rows.loc[(rows["arm"] == arm.arm) & rows["has_outcome"], "id"].nunique()
    assert sum(arm.outcomes for arm in rollout.arms) == rollout.comparison.outcomes == 300
    mixed = tmp_path / "mixed"  # some ask once, some 3 times, some 10
    write_logs(mixed, "ab", 300, PROD, same, seed=11, repeats=[1, 3, 10] * 100)
    assert report(mixed, same, mode="ab", min_outcomes=100).comparison.outcomes == 300


def test_a_candidate_equal_to_prod_is_not_promoted_whoever_its_users_are(tmp_path: Path) -> None:
    """The false promotion reproduced: equal versions, but the canary's users happen to be the easy ones."""
    users = 600
    ease = np.where(np.arange(users) % 2 == 0, 0.4, 2.5)  # hard and easy users, alike for both versions
    on_candidate = np.arange(users) % 4 != 0  # 3 of every 4 easy users, 1 of every 2 hard ones
    on_candidate &= ease > 1
    equal = Arm("v0.2.0", signal=1.0)
    write_logs(tmp_path, "canary", users, PROD, equal, seed=12, repeats=2, ease=ease, on_candidate=on_candidate)
    rollout = report(tmp_path, equal, mode="canary", percent=50, min_outcomes=100)
    prod, canary = rollout.arms
    assert canary.metric - prod.metric > 0.1  # judged by who was served, the canary looks far better
    comparison = rollout.comparison
    assert comparison.outcomes == users  # each user once, though each asked twice
    assert abs(comparison.candidate - comparison.prod) < 0.05  # on the same users, the two are alike
    assert comparison.bounds.low < 0 < comparison.bounds.high
    assert rollout.decision.action is not Action.PROMOTE
