"""Synthetic prediction and feedback logs of a rollout, written through contract/prediction_log.py's schema.

Each user (a loan id) has an outcome, a default with probability `base_rate`.
A version scores a user as a model would, from the logged inputs alone: the
logistic of `signal * ease * (+-1) + noise`, where the inputs carry the user's
`latent` sign, `ease` and one noise draw per version (`scorers` turns the
inputs into scores, as the report's rescoring does with real versions). A
larger signal means a higher ROC AUC. A shadow scores every request next to
prod (not served); a canary or an A/B arm takes `share` of the users. A user
may ask `repeats` times; the outcome is fed back once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    def score(self, inputs: list[dict[str, Any]]) -> np.ndarray:
        """The version's scores of these inputs."""
        latent = np.array([row["latent"] * row["ease"] for row in inputs], dtype=float)
        noise = np.array([row["noise"][self.version] for row in inputs], dtype=float)
        return 1 / (1 + np.exp(-(self.signal * latent + noise)))


def scorers(*arms: Arm) -> dict[str, Any]:
    """The report's scorers for these arms' versions: outputs from logged inputs, as a model gives them."""

    def scorer(arm: Arm) -> Any:
        def score(inputs: list[dict[str, Any]]) -> Mapping[str, np.ndarray]:
            scores = arm.score(inputs)
            return {"score": scores, "label": (scores >= 0.5).astype(int)}

        return score

    return {arm.version: scorer(arm) for arm in arms}


def write_logs(
    folder: Path,
    mode: str,
    users: int,
    prod: Arm,
    candidate: Arm,
    share: float = 0.5,
    outcomes: float = 1.0,
    base_rate: float = 0.3,
    seed: int = 0,
    repeats: int | list[int] = 1,
    ease: np.ndarray | None = None,
    on_candidate: np.ndarray | None = None,
) -> None:
    """Write predictions.jsonl and feedback.jsonl into `folder`; `outcomes` is the share of users with a label.

    `repeats`: requests per user (one number, or one per user); `ease`: each user's signal multiplier;
    `on_candidate`: which users the candidate serves (default: `share` of them at random).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth = rng.random(users) < base_rate
    if on_candidate is None:
        on_candidate = rng.random(users) < share
    ease = np.ones(users) if ease is None else ease
    counts = [repeats] * users if isinstance(repeats, int) else repeats
    encoder = msgspec.json.Encoder()
    lines, feedback, clock = [], [], 0.0
    for user in range(users):
        inputs = {
            "latent": 1 if truth[user] else -1,
            "ease": float(ease[user]),
            "noise": {prod.version: float(rng.normal()), candidate.version: float(rng.normal())},
        }
        for ask in range(counts[user]):
            clock += 1
            arms = [("prod", prod, True), ("shadow", candidate, False)] if mode == "shadow" else []
            if mode != "shadow":
                arms = [(CANDIDATE_ARM[mode], candidate, True) if on_candidate[user] else ("prod", prod, True)]
            for name, arm, served in arms:
                record = _record(rng, f"req-{user}-{ask}", clock, user, name, arm, served, inputs)
                lines.append(encoder.encode(record))
        if rng.random() < outcomes:
            outcome = records.FeedbackRecord(id=f"loan-{user}", outcome=int(truth[user]), time=clock + 0.5)
            feedback.append(encoder.encode(outcome))
    (folder / "predictions.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / records.FEEDBACK_FILE).write_bytes(b"\n".join(feedback) + b"\n" if feedback else b"")


def _record(
    rng: np.random.Generator,
    request_id: str,
    clock: float,
    user: int,
    arm: str,
    spec: Arm,
    served: bool,
    inputs: dict[str, Any],
) -> object:
    failed = rng.random() < spec.error_rate
    score = float(spec.score([inputs])[0])
    return records.PredictionRecord(
        request_id=request_id,
        time=clock,
        arm=arm,
        served=served,
        model_version=spec.version,
        model_sha256=spec.version * 8,
        ids=[f"loan-{user}"],
        inputs=[inputs],
        outputs={} if failed else {"score": [score], "label": [int(score >= 0.5)]},
        latency_ms=spec.latency_ms * (1 + rng.random()),
        error="RuntimeError: boom" if failed else None,
    )
