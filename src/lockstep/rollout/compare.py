"""What each arm did, and the primary metric of the candidate against prod, paired on the same users.

The unit is a user: the distinct ids with an outcome (the sticky key's value,
or the row id). A user who asked several times counts once per arm, by the
latest row. The metric compares both versions on every labelled user, each
scored by both (`rescore.py`), whichever arm served them; its decision bound is
always valid at any number of looks (`sequential.py`), and the paired
bootstrap's interval is kept beside it as a description. The arms' own traffic
judges what only live serving shows: failures, latency, the label mix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..config import GateConfig, Stage, Task
from ..contract.outputs import LABEL
from ..contract.prediction_log import latest_per_user
from ..evaluation.metrics import Scored, metric_for
from ..registry import PROD
from ..review.bootstrap import Interval, paired_bootstrap
from .evidence import Evidence
from .rescore import Scorer
from .sequential import Bounds, always_valid_bounds, paired_auc_difference

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
    outcomes: int  # distinct users (ids) with an outcome
    agreement: float | None  # share of prod's rows (same request, same id) given the same label
    metric: float | None


@dataclass(frozen=True)
class Comparison:
    """Both versions' primary metric on the same users, the always-valid bounds and the bootstrap interval."""

    metric: str
    outcomes: int  # the users compared: distinct ids with an outcome
    prod: float | None
    candidate: float | None
    bounds: Bounds | None  # what the decision uses
    interval: Interval | None  # a description at this one look
    note: str = ""


def _scored(rows: pd.DataFrame, task: str, classes: list[str]) -> Scored:
    return Scored.from_frame(rows[rows["has_outcome"]], task, classes, truth="outcome", predicted=LABEL)


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
    _, function = metric_for(metric, evidence.task, "gate.metric")
    summaries = []
    for arm in arms_in_order(evidence):
        mine = requests[requests["arm"] == arm]
        arm_rows = rows[rows["arm"] == arm]
        users = latest_per_user(arm_rows)
        with_outcome = len(users)
        value = function(_scored(users, evidence.task, evidence.classes)) if with_outcome else None
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


def labelled_users(evidence: Evidence) -> int:
    """How many distinct users (ids) with an outcome the served rows hold: the comparison's sample size."""
    served = evidence.rows[evidence.rows["served"]]
    return int(served.loc[served["has_outcome"], "id"].nunique())


def compare_arms(
    evidence: Evidence,
    candidate_arm: str,
    versions: tuple[str, str],
    scorers: Callable[[], dict[str, Scorer]],
    gate: GateConfig,
    planned: int,
    seed: int,
) -> Comparison:
    """Prod's and the candidate's (`versions`) metric on the same labelled users, one row each.

    A shadow's log holds both versions' scores of the same requests; otherwise every user's latest
    served row is scored by both versions (`scorers()`, called only then).
    """
    metric, function = metric_for(gate.metric, evidence.task, "gate.metric")
    if candidate_arm == Stage.SHADOW:
        prod, new = _shadow_pairs(evidence)
    else:
        users = latest_per_user(evidence.rows[evidence.rows["served"]])
        records, by_version = users["inputs"].tolist(), scorers()
        prod, new = (_rescored(users, by_version[version](records), evidence) for version in versions)
    if len(prod.y_true) == 0:
        return Comparison(metric, 0, None, None, None, None, "no outcomes yet")
    values = function(prod), function(new)
    common = Comparison(metric, len(prod.y_true), *_finite(values), None, None)
    try:
        interval = paired_bootstrap(prod, new, function, gate.bootstrap_resamples, gate.confidence, seed)
    except ValueError as exc:
        return replace(common, note=str(exc))
    if metric == "roc_auc" and evidence.task == Task.BINARY:
        delta, standard_error = paired_auc_difference(prod.is_positive, prod.score, new.score)
    else:
        delta, standard_error = interval.delta, interval.standard_error
    if not np.isfinite(standard_error):
        return replace(common, interval=interval, note="one class only among the outcomes")
    bounds = always_valid_bounds(delta, standard_error, len(prod.y_true), planned, gate.confidence)
    return replace(common, interval=interval, bounds=bounds)


def _shadow_pairs(evidence: Evidence) -> tuple[Scored, Scored]:
    """Prod's and the shadow's rows of each user's latest request that both scored."""
    rows, keys = evidence.rows[evidence.rows["has_outcome"]], ["request_id", "id"]
    prod, shadow = rows[rows["arm"] == PROD], rows[rows["arm"] == Stage.SHADOW]
    both = latest_per_user(prod.merge(shadow[keys], on=keys))[keys]
    pairs = (both.merge(arm, on=keys, how="left") for arm in (prod, shadow))
    scored = tuple(_scored(frame, evidence.task, evidence.classes) for frame in pairs)
    return scored[0], scored[1]


def _rescored(users: pd.DataFrame, outputs: Any, evidence: Evidence) -> Scored:
    frame = pd.DataFrame({name: np.asarray(values) for name, values in outputs.items()})
    frame["outcome"] = users["outcome"].to_numpy()
    if evidence.task == Task.REGRESSION:
        frame[LABEL] = pd.to_numeric(frame[LABEL])
    else:
        frame[LABEL] = frame[LABEL].astype(str)
    return Scored.from_frame(frame, evidence.task, evidence.classes, truth="outcome", predicted=LABEL)


def _finite(values: tuple[float, float]) -> tuple[float | None, float | None]:
    a, b = values
    return (a if np.isfinite(a) else None, b if np.isfinite(b) else None)
