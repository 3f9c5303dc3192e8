"""What started a retrain, and its evidence: the first thing its pull request and its review's report say.

The retrain command (retrain/) writes it as metrics/trigger.json in the commit it proposes; the report
opens with it when it differs from the base's, so the reviewer reads why before the metrics.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import PipelineError


class TriggerKind(StrEnum):
    """The events that start `retrain` (the retrain workflow's triggers)."""

    SCHEDULE = "schedule"
    ALERT = "alert"  # the monitor's, dispatched by monitor.yml
    DATASET = "dataset"  # a registry published a version (repository_dispatch)
    PUSH = "push"  # a push to main that changed a source or a pin
    MANUAL = "manual"


@dataclass(frozen=True)
class Trigger:
    """One retrain's cause: its kind, a reason in words, and the evidence (the alert's lines, versions moved)."""

    kind: TriggerKind
    reason: str
    evidence: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The committed record (metrics/trigger.json) the review's report opens with."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def markdown(self) -> list[str]:
        """The lines a pull request's body and report open with."""
        lines = [f"**Why this retrain:** {self.kind} — {self.reason}"]
        return lines + [f"- {line}" for line in self.evidence]


def parse_kind(text: str) -> TriggerKind:
    """A trigger kind, or one line naming the known ones."""
    try:
        return TriggerKind(text)
    except ValueError:
        known = ", ".join(kind.value for kind in TriggerKind)
        raise PipelineError(f"--trigger {text!r} is not one of: {known}") from None


def read_evidence(path: Path | None) -> list[str]:
    """The evidence lines in `path` (the monitor's alert summary, say); none without a file."""
    if path is None:
        return []
    if not path.is_file():
        raise PipelineError(f"--evidence {path}: no such file")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_trigger(raw: bytes | None) -> Trigger | None:
    """A committed trigger record, or None (no record, or one this version cannot read)."""
    if not raw:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
        return Trigger(TriggerKind(data["kind"]), str(data["reason"]), [str(line) for line in data["evidence"]])
    except (ValueError, KeyError, TypeError):
        return None
