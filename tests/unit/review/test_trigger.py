"""A retrain's trigger: the record its commit holds, and the lines its pull request and report open with."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.errors import PipelineError
from lockstep.review import trigger as retrain_trigger
from lockstep.review.trigger import Trigger, TriggerKind


def test_a_trigger_reads_back_from_its_record_and_opens_with_why() -> None:
    trigger = Trigger(TriggerKind.ALERT, "the monitor alerted", ["feature drift: fired on `age`"])
    assert retrain_trigger.read_trigger(trigger.to_json().encode()) == trigger
    assert trigger.markdown() == [
        "**Why this retrain:** alert — the monitor alerted",
        "- feature drift: fired on `age`",
    ]


def test_an_unknown_kind_or_a_missing_evidence_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(
        PipelineError, match=r"^--trigger 'cron' is not one of: schedule, alert, dataset, push, manual$"
    ):
        retrain_trigger.parse_kind("cron")
    with pytest.raises(PipelineError, match="no such file"):
        retrain_trigger.read_evidence(tmp_path / "absent.txt")
    (tmp_path / "alerts.txt").write_text("one\n\n  two  \n")
    assert retrain_trigger.read_evidence(tmp_path / "alerts.txt") == ["one", "two"]


def test_an_unreadable_record_is_no_trigger() -> None:
    assert retrain_trigger.read_trigger(None) is None
    assert retrain_trigger.read_trigger(b'{"kind": "weather", "reason": "", "evidence": []}') is None
