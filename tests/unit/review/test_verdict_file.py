"""CI's gate enforces the verdict the report wrote, for the commit it was written for, or fails closed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lockstep.cli import main
from lockstep.errors import PipelineError
from lockstep.review.gate import Verdict
from lockstep.review.verdict_file import read_verdict, write_verdict

from tests.conftest import tool_env

FAILED = Verdict(False, "roc_auc", 0.61, 0.74, None, ["`roc_auc` = 0.6100 misses the threshold (at least 0.7)"])


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Git repository with one commit, as the working directory."""
    env = tool_env()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "one"], cwd=tmp_path, check=True, env=env)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_gate_prints_and_exits_with_the_recorded_verdict(repo: Path, capsys: pytest.CaptureFixture) -> None:
    write_verdict(FAILED, "main (abc1234)", repo / "reports" / "verdict.json")
    assert main(["gate", "--verdict", "reports/verdict.json"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["gate: `roc_auc` = 0.6100 misses the threshold (at least 0.7)", "gate: FAIL against main (abc1234)"]

    passed = Verdict(True, "roc_auc", 0.8, 0.74, None, ["better"])
    write_verdict(passed, "main (abc1234)", repo / "reports" / "verdict.json")
    assert main(["gate", "--verdict", "reports/verdict.json"]) == 0
    assert capsys.readouterr().out.endswith("gate: PASS against main (abc1234)\n")


def test_a_verdict_for_another_commit_fails_closed(repo: Path, capsys: pytest.CaptureFixture) -> None:
    path = repo / "reports" / "verdict.json"
    write_verdict(Verdict(True, "roc_auc", 0.8, 0.74, None, ["better"]), "main", path)
    written_for = json.loads(path.read_text())["commit"]
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "two"], check=True, env=tool_env())
    assert main(["gate", "--verdict", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert f"is the verdict for commit {written_for}, not for" in error
    assert "run `make report` first" in error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no verdict at reports/verdict.json: the report did not run or failed; run `make report` first"),
        ("{not json", "reports/verdict.json is not a verdict the report wrote; run `make report` first"),
        ('{"passed": "yes"}', "reports/verdict.json is not a verdict the report wrote; run `make report` first"),
    ],
    ids=["missing", "malformed", "incomplete"],
)
def test_a_missing_or_malformed_verdict_fails_closed(repo: Path, content: str | None, message: str) -> None:
    path = Path("reports/verdict.json")
    if content is not None:
        path.parent.mkdir()
        path.write_text(content)
    with pytest.raises(PipelineError) as raised:
        read_verdict(path)
    assert str(raised.value) == message
