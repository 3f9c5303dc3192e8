"""Labelled traffic: the rows the server answered, joined with their outcomes, as a table to train on.

The prediction log keeps each request's inputs as the client sent them; the
feedback stream keeps the outcomes observed later (`/v1/feedback`). Joined by
id, deduplicated (a row asked twice counts once: its first served answer, its
latest outcome), they make a table with the contract's columns, the target and
`served_at`, which `data publish` versions like any file. Its mix goes with it:
the window, and how many rows each model version served, because rows a model
chose to serve are not an unbiased sample of the population (docs/retraining.md).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract.prediction_log import read_feedback, read_predictions
from ..errors import PipelineError

SERVED_AT = "served_at"


@dataclass
class TrafficMix:
    """What the labelled traffic is made of: its window, rows per served version, and the labelled share."""

    first: float | None = None
    last: float | None = None
    served_rows: int = 0  # rows answered in the window, labelled or not
    versions: Counter[str] = field(default_factory=Counter)

    def to_dict(self, labelled: int) -> dict[str, Any]:
        """The datasheet's `traffic` entry."""

        def when(stamp: float | None) -> str | None:
            return None if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")

        return {
            "window": [when(self.first), when(self.last)],
            "served_rows": self.served_rows,
            "labelled_rows": labelled,
            "labelled_share": labelled / self.served_rows if self.served_rows else 0.0,
            "rows_per_version": dict(sorted(self.versions.items())),
        }


def labelled_traffic(
    logs: Path | str, target: str, id_column: str, start: float | None = None, end: float | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The served rows of `logs` with `start <= time < end` that have an outcome, one per id; and their mix."""
    outcomes = {str(record.id): record.outcome for record in read_feedback(logs, start)}  # the latest wins
    rows: dict[str, dict[str, Any]] = {}
    mix = TrafficMix()
    for record in read_predictions(logs, start, end):
        if not record.served or record.error is not None:  # a shadow's answer, or a failed request
            continue
        mix.served_rows += len(record.ids)
        mix.first = record.time if mix.first is None else min(mix.first, record.time)
        mix.last = record.time if mix.last is None else max(mix.last, record.time)
        for row_id, inputs in zip(record.ids, record.inputs, strict=True):
            key = str(row_id)
            if key in outcomes and key not in rows:
                rows[key] = inputs | {id_column: key, target: outcomes[key], SERVED_AT: record.time}
                mix.versions[record.model_version] += 1
    if not rows:
        raise PipelineError(
            f"{logs}: no served row has an outcome in the window: send outcomes to /v1/feedback, or widen --since"
        )
    table = pd.DataFrame.from_records(list(rows.values())).sort_values([SERVED_AT, id_column], kind="stable")
    table[SERVED_AT] = pd.to_datetime(table[SERVED_AT], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return table.reset_index(drop=True), mix.to_dict(len(table))
