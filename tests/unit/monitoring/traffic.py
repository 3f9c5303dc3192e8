"""Served traffic, written as the server logs it: synthetic credit rows (with known drift), scored by a real model.

Each window is a day of `rows` applications, in requests of `REQUEST_ROWS` rows, one `PredictionRecord` each
(`prediction_log.py`'s schema), and, for a share of the ids, a `FeedbackRecord` with the true outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np

from lockstep.contract import prediction_log as log
from lockstep.data.synthetic import NO_DRIFT, Drift, generate_credit_data
from lockstep.registry.store import ModelVersion

DAY = 86_400.0
START = 1_796_083_200.0  # 2026-12-01T00:00:00Z
REQUEST_ROWS = 25
TARGET, ID = "default", "loan_id"


def day_records(
    served: ModelVersion, day: int, rows: int, drift: Drift, seed: int, arm: str
) -> tuple[list[log.PredictionRecord], dict[str, int]]:
    """One day's records of `arm`, and the outcome of each id."""
    frame = generate_credit_data(rows, seed, drift)
    frame[ID] = f"d{day}-{arm}-" + frame[ID].astype(str)
    outcomes = dict(zip(frame[ID], frame.pop(TARGET).astype(int), strict=True))
    outputs = served.predict(frame)
    inputs = frame.astype(object).where(frame.notna(), None).to_dict("records")
    records = []
    for first in range(0, rows, REQUEST_ROWS):
        part = slice(first, first + REQUEST_ROWS)
        records.append(
            log.PredictionRecord(
                request_id=f"{arm}-{day}-{first}",
                time=START + day * DAY + first * (DAY / 2) / rows,
                arm=arm,
                model_version=served.version,
                model_sha256=served.sha256,
                ids=list(frame[ID].iloc[part]),
                inputs=inputs[part],
                outputs={name: values[part].tolist() for name, values in outputs.items()},
                latency_ms=3.0,
            )
        )
    return records, outcomes


def write_traffic(
    folder: Path,
    served: ModelVersion,
    days: Sequence[Drift] = (NO_DRIFT,),
    rows: int = 2_000,
    labelled: float = 0.0,
    seed: int = 100,
    arm: str = "prod",
    failed: int = 0,
    refused: int = 0,
) -> Path:
    """Write predictions.jsonl (one day per entry of `days`) and feedback.jsonl (`labelled` share of ids, late).

    `failed`: requests per day the server logged as failed (an error, no outputs); `refused`: the requests after
    those, logged as the contract's refusals (a `range` rule broken, no ids, no outputs).
    """
    folder.mkdir(parents=True, exist_ok=True)
    encoder, rng = msgspec.json.Encoder(), np.random.default_rng(seed)
    predictions, feedback = [], []
    for day, drift in enumerate(days):
        records, outcomes = day_records(served, day, rows, drift, seed + day, arm)
        for index in range(failed):
            broken = msgspec.structs.replace(records[index], outputs={}, error="ValueError: refused")
            records[index] = broken
        for index in range(failed, failed + refused):
            records[index] = msgspec.structs.replace(records[index], ids=[], outputs={}, refused=["range"])
        predictions += [encoder.encode(record) for record in records]
        for row_id, outcome in outcomes.items():
            if rng.random() < labelled:
                record = log.FeedbackRecord(id=row_id, outcome=outcome, time=START + (day + 1) * DAY - 1)
                feedback.append(encoder.encode(record))
    with (folder / log.PREDICTIONS_FILE).open("ab") as handle:
        handle.write(b"".join(line + b"\n" for line in predictions))
    with (folder / log.FEEDBACK_FILE).open("ab") as handle:
        handle.write(b"".join(line + b"\n" for line in feedback))
    return folder
