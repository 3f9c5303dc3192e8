"""The prediction log's and the feedback log's lines: one schema for the server that writes them and the readers.

The server appends one `PredictionRecord` per scored request and arm, and one
`FeedbackRecord` per late label posted to `/v1/feedback`; a shadow's process
writes its own records (`served=False`) to `predictions.shadow.jsonl`. The
rollout report and, later, monitoring read them. The logs are JSON lines,
rotated by their writer (`predictions.jsonl`, `predictions.jsonl.1`, ...), and
live in the same folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

FEEDBACK_FILE = "feedback.jsonl"
PREDICTIONS_FILE = "predictions.jsonl"


def shadow_log(prediction_log: Path) -> Path:
    """Where the shadow's process logs, next to the server's log: `predictions.jsonl` -> `predictions.shadow.jsonl`."""
    return prediction_log.with_name(f"{prediction_log.stem}.shadow{prediction_log.suffix}")


class PredictionRecord(msgspec.Struct, kw_only=True):
    """One request scored by one arm.

    `ids[i]` is row i's value of the contract's id column, or `<request_id>:<i>`
    when the contract has none; a feedback `id` refers to it. `outputs` holds one
    list per output column (`label`, and `score` or `proba_<class>`), row-aligned.
    """

    request_id: str
    time: float
    arm: str = "prod"  # the GTO stage whose version answered: prod, canary or shadow
    served: bool = True  # False for a shadow: logged, never returned
    model_version: str
    model_sha256: str
    ids: list[Any]
    inputs: list[dict[str, Any]]
    outputs: dict[str, list[Any]]
    latency_ms: float
    error: str | None = None  # a candidate that raised: the exception's one line; outputs are then empty


class FeedbackRecord(msgspec.Struct, kw_only=True):
    """A late label: the outcome observed for the row whose id is `id`."""

    id: Any
    outcome: Any
    time: float


def _lines(folder: Path, name: str) -> Iterator[bytes]:
    """The lines of `name` and its rotated files in `folder`, oldest file first."""
    rotated = sorted(folder.glob(f"{name}.*"), key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    for path in [*reversed(rotated), folder / name]:
        if path.is_file():
            with path.open("rb") as handle:
                yield from (line for line in handle if line.strip())


def read_predictions(folder: Path, name: str = PREDICTIONS_FILE) -> Iterator[PredictionRecord]:
    """Every prediction record in `folder`: the server's log, oldest first, then its shadow's log, oldest first."""
    decoder = msgspec.json.Decoder(PredictionRecord)
    for file in (name, shadow_log(Path(name)).name):
        for line in _lines(folder, file):
            yield decoder.decode(line)


def read_feedback(folder: Path) -> Iterator[FeedbackRecord]:
    """Every feedback record in `folder`, oldest first."""
    decoder = msgspec.json.Decoder(FeedbackRecord)
    for line in _lines(folder, FEEDBACK_FILE):
        yield decoder.decode(line)
