"""Synthetic prediction and feedback logs of a rollout, written through contract/prediction_log.py's schema.

One row per request (a loan id). The outcome is a default with probability
`base_rate`; each arm scores it with a separation `signal` (its score is the
logistic of signal * (±1) plus unit noise), so a larger signal means a higher
ROC AUC. A shadow scores every request next to prod (not served); a canary or
an A/B arm takes `share` of the keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np

from lockstep.contract import prediction_log as records

CANDIDATE_ARM = {"shadow": "shadow", "canary": "canary", "ab": "canary"}


@dataclass(frozen=True)
class Arm:
    """How one arm behaves."""

    version: str
    signal: float = 1.0
    error_rate: float = 0.0
    latency_ms: float = 4.0


def write_logs(
    folder: Path,
    mode: str,
    requests: int,
    prod: Arm,
    candidate: Arm,
    share: float = 0.5,
    outcomes: float = 1.0,
    base_rate: float = 0.3,
    seed: int = 0,
) -> None:
    """Write predictions.jsonl and feedback.jsonl into `folder`; `outcomes` is the share of rows with a label."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth = rng.random(requests) < base_rate
    on_candidate = rng.random(requests) < share
    encoder = msgspec.json.Encoder()
    lines, feedback = [], []
    for i in range(requests):
        arms = [("prod", prod, True), ("shadow", candidate, False)] if mode == "shadow" else []
        if mode != "shadow":
            arms = [(CANDIDATE_ARM[mode], candidate, True) if on_candidate[i] else ("prod", prod, True)]
        for name, arm, served in arms:
            lines.append(encoder.encode(_record(rng, i, name, arm, served, bool(truth[i]))))
        if rng.random() < outcomes:
            feedback.append(encoder.encode(records.FeedbackRecord(id=f"loan-{i}", outcome=int(truth[i]), time=i + 0.5)))
    (folder / "predictions.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / records.FEEDBACK_FILE).write_bytes(b"\n".join(feedback) + b"\n" if feedback else b"")


def _record(rng: np.random.Generator, i: int, arm: str, spec: Arm, served: bool, default: bool) -> object:
    failed = rng.random() < spec.error_rate
    score = float(1 / (1 + np.exp(-(spec.signal * (1 if default else -1) + rng.normal()))))
    return records.PredictionRecord(
        request_id=f"req-{i}",
        time=float(i),
        arm=arm,
        served=served,
        model_version=spec.version,
        model_sha256=spec.version * 8,
        ids=[f"loan-{i}"],
        inputs=[{"age": 30 + i % 40}],
        outputs={} if failed else {"score": [score], "label": [int(score >= 0.5)]},
        latency_ms=spec.latency_ms * (1 + rng.random()),
        error="RuntimeError: boom" if failed else None,
    )
