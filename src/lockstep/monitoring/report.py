"""The monitoring report: a summary line per check, then the alerts, the performance and the plots.

Evidently's order: "what changed, and does it matter" first, one line per check; then the alerts, the
performance with its caveat, and each metric over the windows against its threshold.

`write_monitor_report` writes report.md, its plots and monitor.json into one folder, all or nothing (the
folder is built aside and swapped in). Deterministic: no timestamps, sorted keys, rounded floats, PNGs without metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..io import atomic_dir, dumps_json
from .estimate import CONCEPT_SHIFT_CAVEAT
from .monitor import CHECKS, NO_FEATURE, SERIES, Monitoring
from .plots import render_monitor_plots

WATERMARK = "Monitoring report"
EXIT_OK, EXIT_ALERT = 0, 6
TITLES = {
    "data_quality": "data quality",
    "feature_drift": "feature drift",
    "prediction_drift": "prediction drift",
    "performance_realized": "performance with labels",
    "performance_estimated": "performance without labels (estimated)",
}


def series_name(entry: Any) -> str:
    """`feature metric (arm version)`, or `metric (arm version)` for a check of no feature."""
    what = entry.metric if entry.feature == NO_FEATURE else f"{entry.feature} {entry.metric}"
    return f"`{what}` ({entry.arm} `{entry.version}`)"


def summary_line(monitoring: Monitoring, check: str) -> str:
    """One line: whether the check fired, on what, and how often it alerted."""
    rows = monitoring.table[monitoring.table["check"] == check]
    fired = monitoring.alerts[monitoring.alerts["check"] == check]
    alerted = int(rows["alerted"].sum())
    windows = rows["window"].nunique()
    if rows.empty:
        return f"- ➖ **{TITLES[check]}**: nothing to check"
    if not fired.empty:
        names = ", ".join(series_name(entry) for entry in fired.itertuples())
        return f"- 🚨 **{TITLES[check]}**: fired on {names}; {alerted} alerts over {windows} windows"
    icon = "⚠️" if alerted else "✅"
    statuses = sorted(set(rows["status"]) - {"checked", "realized", "estimated"})
    extra = f" (some windows: {', '.join(statuses)})" if statuses else ""
    return f"- {icon} **{TITLES[check]}**: no alert fired; {alerted} alerts over {windows} windows{extra}"


def alerts_table(monitoring: Monitoring) -> list[str]:
    """One markdown row per series that fired at its latest window."""
    rule = monitoring.settings.alert
    lines = [
        f"Each fired: it alerted in at least {rule.min_windows} of its last {rule.last_windows} windows.",
        "",
        "| check | what | window from | value | threshold |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for entry in monitoring.alerts.itertuples():
        lines.append(
            f"| {TITLES[entry.check]} | {series_name(entry)} | {entry.start} | {number(entry.value)} "
            f"| {number(entry.threshold)} |"
        )
    return lines


def number(value: float, digits: int = 4) -> str:
    """A value for the report; – for none."""
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def performance_table(monitoring: Monitoring) -> list[str]:
    """One markdown row per window, arm, version, check and metric of performance."""
    confidence = monitoring.settings.performance.confidence
    rows = monitoring.table[monitoring.table["check"].str.startswith("performance")]
    lines = [
        f"| window from | arm | version | check | metric | rows | value | {confidence:.0%} interval | floor | status |",
        "| --- | --- | --- | --- | --- | ---: | ---: | --- | ---: | --- |",
    ]
    for entry in rows.itertuples():
        interval = "–" if pd.isna(entry.low) else f"[{entry.low:.4f}, {entry.high:.4f}]"
        status = entry.status if not entry.note else f"{entry.status}: {entry.note}"
        lines.append(
            f"| {entry.start} | {entry.arm} | `{entry.version}` | {TITLES[entry.check]} | {entry.metric} "
            f"| {entry.rows:,} | {number(entry.value)} | {interval} | {number(entry.threshold)} | {status} |"
        )
    return lines


def render_markdown(monitoring: Monitoring, images: list[str], reference: str) -> str:
    """The whole report as markdown."""
    windows, fired = monitoring.windows, len(monitoring.alerts)
    headline = f"🚨 {fired} alert{'s' if fired != 1 else ''} fired" if fired else "✅ no alert"
    traffic = windows.groupby(["arm", "version"])["rows"].sum()
    arms = ", ".join(f"{arm} `{version}` ({rows:,} rows)" for (arm, version), rows in traffic.items())
    lines = [
        f"## {WATERMARK}: {headline}",
        "",
        f"Reference: {reference}. Task: {monitoring.task}. Window `{monitoring.settings.window}`: "
        f"{windows['window'].nunique()} windows, from {windows['start'].min()} to {windows['end'].max()}. "
        f"Traffic: {arms}.",
        "",
        "### Summary",
        "",
        *[summary_line(monitoring, check) for check in CHECKS],
    ]
    if fired:
        lines += ["", "### Alerts", "", *alerts_table(monitoring)]
    lines += ["", "### Performance", "", *performance_table(monitoring), "", f"Caveat: {CONCEPT_SHIFT_CAVEAT}."]
    if images:
        lines += ["", "### Plots", ""] + [f"![{name.removesuffix('.png')}]({name})" for name in images]
    return "\n".join(lines) + "\n"


def monitor_record(monitoring: Monitoring, reference: str) -> dict[str, Any]:
    """monitor.json: the verdict, the alerts, every window and every row of the table."""
    return {
        "alert": monitoring.alerted,
        "alerts": monitoring.alerts[[*SERIES, "window", "start", "value", "threshold"]].to_dict("records"),
        "caveat": CONCEPT_SHIFT_CAVEAT,
        "reference": reference,
        "settings": monitoring.settings.model_dump(mode="json"),
        "task": monitoring.task,
        "windows": monitoring.windows.to_dict("records"),
        "rows": monitoring.table.to_dict("records"),
    }


def write_monitor_report(monitoring: Monitoring, out_dir: Path, reference: str, with_plots: bool = True) -> Path:
    """Write report.md, its plots and monitor.json into `out_dir` (replaced whole); return the report's path."""
    with atomic_dir(out_dir) as folder:
        folder.chmod(0o755)  # made private, as a temporary folder is; a report is not
        images = render_monitor_plots(monitoring, folder) if with_plots else []
        (folder / "monitor.json").write_text(dumps_json(monitor_record(monitoring, reference)), encoding="utf-8")
        (folder / "report.md").write_text(render_markdown(monitoring, images, reference), encoding="utf-8")
    return out_dir / "report.md"
