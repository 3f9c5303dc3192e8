"""Labelled traffic: served rows joined with their outcomes, one per id, with the mix that served them."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from lockstep.contract import prediction_log as log
from lockstep.data.traffic import SERVED_AT, labelled_traffic
from lockstep.errors import PipelineError


def write(folder: Path, records: list[log.PredictionRecord], feedback: list[log.FeedbackRecord]) -> Path:
    folder.mkdir()
    encoder = msgspec.json.Encoder()
    (folder / log.PREDICTIONS_FILE).write_bytes(b"".join(encoder.encode(r) + b"\n" for r in records))
    (folder / log.FEEDBACK_FILE).write_bytes(b"".join(encoder.encode(r) + b"\n" for r in feedback))
    return folder


def request(
    request_id: str, time: float, ids: list[str], version: str = "v0.1.0", **changes: object
) -> log.PredictionRecord:
    return log.PredictionRecord(
        request_id=request_id,
        time=time,
        model_version=version,
        model_sha256="0" * 64,
        ids=ids,
        inputs=[{"age": 30 + index} for index in range(len(ids))],
        outputs={"label": [0] * len(ids), "score": [0.1] * len(ids)},
        latency_ms=1.0,
        **changes,
    )


def test_rows_join_their_latest_outcome_once_per_id_and_the_mix_says_who_served(tmp_path: Path) -> None:
    logs = write(
        tmp_path / "logs",
        [
            request("r1", 100.0, ["a", "b"]),
            request("r2", 200.0, ["a", "c"], version="v0.2.0"),  # a asked again: counted once, its first answer
            request("s1", 210.0, ["d"], arm="shadow", served=False),  # never returned to anyone
            request("r3", 300.0, ["e"], error="ValueError: broken"),
        ],
        [
            log.FeedbackRecord(id="a", outcome=0, time=400.0),
            log.FeedbackRecord(id="a", outcome=1, time=500.0),  # the latest outcome wins
            log.FeedbackRecord(id="c", outcome=0, time=450.0),
            log.FeedbackRecord(id="d", outcome=1, time=460.0),  # only the shadow scored d
        ],
    )
    table, mix = labelled_traffic(logs, "default", "loan_id", start=None)
    assert table[["loan_id", "default", "age"]].to_dict("records") == [
        {"loan_id": "a", "default": 1, "age": 30},
        {"loan_id": "c", "default": 0, "age": 31},
    ]
    assert table[SERVED_AT].tolist() == ["1970-01-01T00:01:40.000000Z", "1970-01-01T00:03:20.000000Z"]
    assert mix == {
        "window": ["1970-01-01T00:01:40+00:00", "1970-01-01T00:03:20+00:00"],
        "served_rows": 4,
        "labelled_rows": 2,
        "labelled_share": 0.5,
        "rows_per_version": {"v0.1.0": 1, "v0.2.0": 1},
    }


def test_no_labelled_row_is_one_line(tmp_path: Path) -> None:
    logs = write(tmp_path / "logs", [request("r1", 100.0, ["a"])], [])
    with pytest.raises(PipelineError, match="no served row has an outcome in the window"):
        labelled_traffic(logs, "default", "loan_id")
