"""The monitor (NannyML's `estimate`, with the reference as its `fit`): logs, reference and settings in, one table out.

One row per window, arm, model version, check, feature and metric, with its value (and interval), its
threshold, whether it alerted in that window, and whether the alert rule fired there: the check alerted in
at least k of its last n windows. The checks:
- data_quality: per feature, the missing rate, out-of-range and unseen shares (`drift.quality_table`); the
  share of requests the server logged as failed (`error_rate`, feature "-"), and the share the contract
  refused (`refusal_rate`, feature "-", its note naming the rules broken).
- feature_drift: per feature, a distance above its floor and a corrected test (`drift.drift_table`).
- prediction_drift: the score the profile follows, counted as a numeric feature is, and (classifiers) the
  predicted labels' shares, as a categorical feature is, each against the test set's; Holm over the two.
- performance_realized: the metrics from the feedback log's outcomes, joined by id, each id once (its latest
  row), with a bootstrap interval.
- performance_estimated: the label-free estimate (`estimate.estimate`), or why there is none; blind to a
  concept shift (`CONCEPT_SHIFT_CAVEAT`).
A window's arm and version with fewer than `min_rows` rows is reported, and alerts only on its error and
refusal rates.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import MonitorConfig, Task
from ..contract.prediction_log import latest_per_user
from ..evaluation.reference import MonitoringReference
from .drift import Thresholds, categorical_score, check_window, holm, numeric_score
from .estimate import CONCEPT_SHIFT_CAVEAT, Performance, estimate, realized
from .logs import Slot, read_windows
from .ranking import metric_names

CHECKS = ("data_quality", "feature_drift", "prediction_drift", "performance_realized", "performance_estimated")
SERIES = ["arm", "version", "check", "feature", "metric"]
COLUMNS = ["window", "start", "end", *SERIES, "rows", "value", "low", "high", "p_value", "threshold"]
COLUMNS += ["alerted", "fired", "status", "note"]
NO_FEATURE = "-"
ALWAYS_COUNTED = ("error_rate", "refusal_rate")  # failures and refusals alert however few rows a window scored
REGRESSION_REALIZED = "regression: the monitor's metrics with labels are classification metrics"


@dataclass(frozen=True)
class Monitoring:
    """The monitor's result: the table, each window's traffic, and the task its reference is for."""

    table: pd.DataFrame  # COLUMNS
    windows: pd.DataFrame  # window, start, end, arm, version, requests, failed, refused, rows
    task: str
    settings: MonitorConfig

    @property
    def alerts(self) -> pd.DataFrame:
        """The series whose rule fired at its latest window."""
        latest = self.table.sort_values("window", kind="stable").drop_duplicates(SERIES, keep="last")
        return latest[latest["fired"]].sort_values(SERIES, kind="stable", ignore_index=True)

    @property
    def alerted(self) -> bool:
        """Whether any alert fired at the latest window of its series."""
        return not self.alerts.empty


def thresholds(settings: MonitorConfig) -> Thresholds:
    """drift.py's thresholds from the monitor's settings."""
    drift, quality = settings.drift, settings.quality
    return Thresholds(
        numeric_floor=drift.numeric_floor,
        categorical_floor=drift.categorical_floor,
        alpha=drift.alpha,
        max_missing_increase=quality.max_missing_increase,
        max_out_of_range=quality.max_out_of_range,
        max_unseen=quality.max_unseen,
    )


def row(
    check: str, feature: str, metric: str, value: float, threshold: float | None, alerted: bool, **extra: Any
) -> dict[str, Any]:
    """One row of the table, before the window's columns."""
    base = {"check": check, "feature": feature, "metric": metric, "value": float(value), "low": np.nan}
    base |= {"high": np.nan, "p_value": np.nan, "status": "checked", "note": ""}
    return base | {"threshold": np.nan if threshold is None else float(threshold), "alerted": bool(alerted)} | extra


def data_rows(slot: Slot, reference: MonitoringReference, settings: MonitorConfig) -> list[dict[str, Any]]:
    """Data quality, feature drift and prediction drift of one window."""
    limits = thresholds(settings)
    found = check_window(reference.profile, slot.counts, str(slot.window), limits)  # type: ignore[arg-type]
    rows = [row("data_quality", r.feature, r.check, r.value, r.threshold, r.alert) for r in found.quality.itertuples()]
    quality, rules = settings.quality, sorted(slot.refused_rules.items())
    rows.append(rate_row("error_rate", slot.failed, slot.requests, quality.max_error_rate))
    rows.append(rate_row("refusal_rate", slot.refused, slot.requests, quality.max_refusal_rate))
    rows[-1]["note"] = "requests refused per rule: " + ", ".join(f"{r}: {n}" for r, n in rules) if rules else ""
    rows += [
        row("feature_drift", r.feature, r.distance_name, r.distance, r.floor, r.drift, p_value=r.p_adjusted)
        for r in found.drift.itertuples()
    ]
    return rows + prediction_rows(slot, reference, limits)


def rate_row(metric: str, count: int, requests: int, ceiling: float) -> dict[str, Any]:
    """A data-quality share of the window's requests (failed or refused) against its ceiling."""
    rate = count / requests if requests else np.nan
    return row("data_quality", NO_FEATURE, metric, rate, ceiling, rate > ceiling)


def prediction_rows(slot: Slot, reference: MonitoringReference, limits: Thresholds) -> list[dict[str, Any]]:
    """Prediction drift: the followed score and the predicted labels against the test set's, Holm-corrected."""
    profile, found = reference.profile, []
    if profile.score is not None and slot.score_counts is not None and slot.rows:
        found.append(("score", numeric_score(profile.score, slot.score_counts, limits)))
    if profile.label is not None and slot.labels is not None and slot.rows:
        found.append(("label", categorical_score(profile.label, slot.labels, limits)))
    adjusted = holm(np.array([score.p_value for _, score in found]))
    return [
        row("prediction_drift", name, score.distance_name, score.distance, score.floor, drifted, p_value=p_value)
        for (name, score), p_value in zip(found, adjusted, strict=True)
        for drifted in [bool(p_value < limits.alpha and score.distance > score.floor)]
    ]


def labelled(slot: Slot, outcomes: dict[str, Any], reference: MonitoringReference) -> tuple[np.ndarray, np.ndarray]:
    """The window's scores and labels of the ids with an outcome, each id once (its latest row)."""
    frame = pd.DataFrame(slot.labelled, columns=["id", "time", "scores"])
    frame = latest_per_user(frame.assign(has_outcome=True))  # as the rollout counts
    classes = list(reference.estimate.classes)
    texts = [str(outcomes[i]) for i in frame["id"]]
    if reference.estimate.task == Task.BINARY:
        labels = np.array([text == classes[-1] for text in texts], dtype=int)
        keep = np.ones(len(texts), dtype=bool)
    else:
        keep = np.array([text in classes for text in texts], dtype=bool)
        labels = np.array([classes.index(text) for text, kept in zip(texts, keep, strict=True) if kept], dtype=int)
    scores = [row for row, kept in zip(frame["scores"], keep, strict=True) if kept]
    return (np.array(scores, dtype=float) if scores else np.zeros(0)), labels


def performance_rows(performance: Performance, check: str, floors: dict[str, float | None]) -> list[dict[str, Any]]:
    """One row per followed metric: its value and interval, or the status and why there is none."""
    followed = () if performance.task == Task.REGRESSION else metric_names(performance.task)
    names = [name for name in followed if name in floors] or list(floors)
    rows = []
    for name in names:
        interval, floor = performance.metrics.get(name), floors.get(name)
        if interval is None:
            rows.append(row(check, NO_FEATURE, name, np.nan, floor, False, status=performance.status))
            rows[-1]["rows"] = performance.rows
            rows[-1]["note"] = performance.reason or ""
            continue
        alerted = floor is not None and interval.high < floor  # even the interval's top is below the floor
        rows.append(
            row(check, NO_FEATURE, name, interval.value, floor, alerted, low=interval.low, high=interval.high)
            | {"status": performance.status, "rows": performance.rows}
        )
    return rows


def window_rows(
    slot: Slot, reference: MonitoringReference, outcomes: dict[str, Any], settings: MonitorConfig, seed: int
) -> list[dict[str, Any]]:
    """Every check of one window of one arm and version."""
    perf, floors = settings.performance, settings.performance.metrics
    rows = data_rows(slot, reference, settings)
    scores, labels = labelled(slot, outcomes, reference)
    if reference.estimate.task == Task.REGRESSION:
        found = Performance("not estimated", Task.REGRESSION, 0, reason=REGRESSION_REALIZED)
    elif len(labels) < perf.min_labels:
        reason = f"{len(labels)} ids with an outcome, fewer than min_labels ({perf.min_labels})"
        found = Performance("too few labels", reference.estimate.task, len(labels), reason=reason)
    else:
        found = realized(reference.estimate, scores, labels, perf.draws, perf.confidence, seed)
    rows += performance_rows(found, "performance_realized", floors)
    guess = estimate(reference.estimate, slot.sketch, perf.draws, perf.confidence, seed)
    rows += performance_rows(guess, "performance_estimated", floors)
    quiet = slot.rows < settings.min_rows
    for entry in rows:
        entry.setdefault("rows", slot.rows)  # performance: the rows it was computed on
        entry |= {"window": slot.window, "start": iso(slot.start), "end": iso(slot.end)}
        entry |= {"arm": slot.arm, "version": slot.version}
        if quiet and entry["alerted"] and entry["metric"] not in ALWAYS_COUNTED:
            entry |= {"alerted": False, "note": f"{slot.rows} rows, fewer than min_rows ({settings.min_rows})"}
    return rows


def iso(seconds: float) -> str:
    """A time as ISO 8601 UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def apply_rule(table: pd.DataFrame, min_windows: int, last_windows: int) -> pd.DataFrame:
    """`fired`: the series alerted in at least `min_windows` of its last `last_windows` windows, up to this one."""
    table = table.sort_values([*SERIES, "window"], kind="stable", ignore_index=True)
    alerted = table["alerted"].astype(int)
    counts = alerted.groupby([table[key] for key in SERIES]).transform(
        lambda series: series.rolling(last_windows, min_periods=1).sum()
    )
    table["fired"] = counts >= min_windows
    return table


def monitor(
    reference: MonitoringReference,
    slots: list[Slot],
    outcomes: dict[str, Any],
    settings: MonitorConfig,
    seed: int = 0,
) -> Monitoring:
    """Check every window of every arm and version against the reference; apply the alert rule."""
    rows = [entry for slot in slots for entry in window_rows(slot, reference, outcomes, settings, seed)]
    rule = settings.alert
    table = apply_rule(pd.DataFrame(rows), rule.min_windows, rule.last_windows)
    table["order"] = table["check"].map({check: index for index, check in enumerate(CHECKS)})
    table = table.sort_values(["window", "arm", "version", "order", "feature", "metric"], ignore_index=True)[COLUMNS]
    windows = pd.DataFrame(
        [
            {"window": s.window, "start": iso(s.start), "end": iso(s.end), "arm": s.arm, "version": s.version}
            | {"requests": s.requests, "failed": s.failed, "refused": s.refused, "rows": s.rows}
            for s in slots
        ]
    )
    return Monitoring(table, windows, str(reference.estimate.task), settings)


def run_monitor(
    logs: Path | str,
    reference: MonitoringReference,
    settings: MonitorConfig,
    since: float | None = None,
    version: str | None = None,
    seed: int = 0,
) -> Monitoring:
    """Read the logs in `logs` (a folder or an s3:// prefix), from `since` on, and monitor them.

    With windows of time, `since` moves back to the start of its window: no first window is cut short.
    """
    seconds = settings.window_seconds
    if since is not None and seconds is not None:
        since = float(math.floor(since / seconds) * seconds)
    rows = settings.window if isinstance(settings.window, int) else None
    slots, outcomes = read_windows(logs, reference, seconds, rows, since, version)
    return monitor(reference, slots, outcomes, settings, seed)


__all__ = ["CHECKS", "CONCEPT_SHIFT_CAVEAT", "Monitoring", "monitor", "run_monitor"]
