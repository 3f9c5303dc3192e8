"""The verdict the report wrote (`reports/verdict.json`), which CI's gate step enforces.

CI writes the report, then gates: reading the report's own verdict makes the
check and the comment agree by construction, and spares the gate step from
reading both revisions and bootstrapping them a second time. The file names the
commit it was written for; any other commit fails closed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from ..errors import PipelineError
from ..io import write_json


def head_commit() -> str | None:
    """The commit checked out in the work tree, or None outside Git."""
    shown = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    return shown.stdout.strip() if shown.returncode == 0 else None


def write_verdict(verdict: Any, against: str, path: Path) -> None:
    """Record `verdict` (a review.gate.Verdict), the base it was judged against, and the commit it is for."""
    record = {
        "passed": verdict.passed,
        "metric": verdict.metric,
        "new": verdict.new_value,
        "base": verdict.base_value,
        "reasons": verdict.reasons,
        "against": against,
        "commit": head_commit(),
    }
    write_json(record, path)


def read_verdict(path: Path) -> dict[str, Any]:
    """The verdict in `path`; raises PipelineError unless the report wrote it for the commit checked out."""
    redo = "run `make report` first"
    if not path.is_file():
        raise PipelineError(f"no verdict at {path}: the report did not run or failed; {redo}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        passed, reasons, against, commit = record["passed"], record["reasons"], record["against"], record["commit"]
    except (ValueError, KeyError, TypeError):
        raise PipelineError(f"{path} is not a verdict the report wrote; {redo}") from None
    head = head_commit()
    if commit != head:
        raise PipelineError(f"{path} is the verdict for commit {commit}, not for {head} checked out; {redo}")
    if not isinstance(passed, bool) or not isinstance(reasons, list):
        raise PipelineError(f"{path} is not a verdict the report wrote; {redo}")
    return {"passed": passed, "reasons": [str(reason) for reason in reasons], "against": str(against)}
