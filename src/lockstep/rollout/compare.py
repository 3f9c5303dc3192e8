"""What each arm did, and the primary metric of the candidate against prod on the outcomes fed back.

A shadow scores prod's own requests, so its comparison is paired on the same
rows; a canary's or an A/B test's arms serve different users, so theirs is
unpaired. Both reuse review/'s bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config import GateConfig
from ..contract.outputs import LABEL
from ..evaluation.metrics import Scored, metric_for
from ..registry import PROD
from ..review.bootstrap import Interval, paired_bootstrap, unpaired_bootstrap
from .evidence import Evidence

PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class ArmSummary:
    """One arm's traffic, failures, latency, agreement with prod and metric."""

    arm: str
    version: str
    served: bool
    requests: int
    share: float  # of all distinct requests
    error_rate: float
    latency_ms: dict[int, float]  # percentile -> milliseconds
    rows: int
    outcomes: int
    agreement: float | None  # share of prod's rows (same request, same id) given the same label
    metric: float | None


@dataclass(frozen=True)
class Comparison:
    """The candidate's primary metric against prod's, with its bootstrap interval."""

    metric: str
    paired: bool
    outcomes: int  # the rows compared (paired), or the smaller arm's (unpaired)
    prod: float | None
    candidate: float | None
    interval: Interval | None
    note: str = ""


def _scored(rows: pd.DataFrame, task: str, classes: list[str]) -> Scored:
    return Scored.from_frame(rows[rows["has_outcome"]], task, classes, truth="outcome", predicted=LABEL)


def metric_function(name: str, task: str) -> tuple[str, Any]:
    """The gate's metric (resolved for the task) and its function."""
    return metric_for(name, task, "gate.metric")


def _agreement(rows: pd.DataFrame, arm: str) -> float | None:
    if arm == PROD:
        return None
    keys = ["request_id", "id"]
    both = rows[rows["arm"] == PROD][[*keys, "label"]].merge(rows[rows["arm"] == arm][[*keys, "label"]], on=keys)
    return float((both["label_x"] == both["label_y"]).mean()) if len(both) else None


def arms_in_order(evidence: Evidence) -> list[str]:
    """The arms in the logs, prod first, then the others by name."""
    return sorted(evidence.requests["arm"].unique(), key=lambda arm: (arm != PROD, arm))


def summarise_arms(evidence: Evidence, metric: str) -> list[ArmSummary]:
    """One summary per arm, prod first."""
    requests, rows = evidence.requests, evidence.rows
    total = requests["request_id"].nunique()
    _, function = metric_function(metric, evidence.task)
    summaries = []
    for arm in arms_in_order(evidence):
        mine = requests[requests["arm"] == arm]
        arm_rows = rows[rows["arm"] == arm]
        with_outcome = int(arm_rows["has_outcome"].sum())
        value = function(_scored(arm_rows, evidence.task, evidence.classes)) if with_outcome else None
        summaries.append(
            ArmSummary(
                arm=arm,
                version=str(mine["version"].iloc[-1]),
                served=bool(mine["served"].any()),
                requests=len(mine),
                share=len(mine) / total,
                error_rate=float(mine["failed"].mean()),
                latency_ms={p: float(np.percentile(mine["latency_ms"], p)) for p in PERCENTILES},
                rows=len(arm_rows),
                outcomes=with_outcome,
                agreement=_agreement(rows, arm),
                metric=None if value is None or not np.isfinite(value) else float(value),
            )
        )
    return summaries


def compare_arms(evidence: Evidence, candidate: str, paired: bool, gate: GateConfig, seed: int) -> Comparison:
    """The candidate's metric against prod's on the rows with outcomes: paired (shadow) or unpaired."""
    metric, function = metric_function(gate.metric, evidence.task)
    rows = evidence.rows[evidence.rows["has_outcome"]]
    prod, new = rows[rows["arm"] == PROD], rows[rows["arm"] == candidate]
    if paired:
        keys = ["request_id", "id"]
        on_both = prod[keys].merge(new[keys], on=keys)
        prod = prod.merge(on_both, on=keys).sort_values(keys)
        new = new.merge(on_both, on=keys).sort_values(keys)
    outcomes = min(len(prod), len(new))
    if outcomes == 0:
        return Comparison(metric, paired, 0, None, None, None, "no outcomes for both arms yet")
    base_scored = _scored(prod, evidence.task, evidence.classes)
    new_scored = _scored(new, evidence.task, evidence.classes)
    values = function(base_scored), function(new_scored)
    bootstrap = paired_bootstrap if paired else unpaired_bootstrap
    try:
        interval = bootstrap(base_scored, new_scored, function, gate.bootstrap_resamples, gate.confidence, seed)
    except ValueError as exc:
        return Comparison(metric, paired, outcomes, *_finite(values), None, str(exc))
    return Comparison(metric, paired, outcomes, *_finite(values), interval)


def _finite(values: tuple[float, float]) -> tuple[float | None, float | None]:
    a, b = values
    return (a if np.isfinite(a) else None, b if np.isfinite(b) else None)
