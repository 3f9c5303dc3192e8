"""The monitoring report's plots: one PNG per check, a panel per metric over the windows against its threshold.

Each feature, arm and version is a line; a window that alerted is a red dot; performance shows its interval as a band.
Written with matplotlib's Agg backend and no metadata, so the same table gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .monitor import CHECKS, NO_FEATURE, Monitoring

MAX_LABELS = 4  # a panel with more lines labels only those that alerted


def render_monitor_plots(monitoring: Monitoring, out_dir: Path) -> list[str]:
    """Write `<check>.png` for each check with values into `out_dir`; return the names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = monitoring.table
    starts = sorted(set(zip(table["window"], table["start"], strict=True)))
    position = {window: index for index, (window, _) in enumerate(starts)}
    labels = [start[:16].replace("T", " ") for _, start in starts]
    written = []
    for check in CHECKS:
        rows = table[(table["check"] == check) & table["value"].notna()]
        if rows.empty:
            continue
        figure = check_figure(plt, rows, position, labels)
        figure.suptitle(check.replace("_", " "))
        # Fixed margins (room for the slanted dates) rather than tight_layout, which measured every text: 0.5 s.
        figure.subplots_adjust(left=0.6 / figure.get_figwidth(), right=0.98, bottom=0.33, top=0.8, wspace=0.3)
        figure.savefig(out_dir / f"{check}.png", dpi=72, metadata={"Software": None})
        plt.close(figure)
        written.append(f"{check}.png")
    return written


def check_figure(plt: Any, rows: pd.DataFrame, position: dict[int, int], labels: list[str]) -> Any:
    """A row of panels, one per metric, each with a line per feature, arm and version."""
    metrics = sorted(set(rows["metric"]))
    figure, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.0), squeeze=False)
    for axis, metric in zip(axes.flat, metrics, strict=True):
        panel = rows[rows["metric"] == metric]
        draw_panel(axis, panel, position)
        axis.set_title(metric, fontsize="small")
        ticks = sorted({position[w] for w in panel["window"]})
        axis.set_xticks(ticks, [labels[t] for t in ticks], rotation=30, ha="right", fontsize="x-small")
        axis.tick_params(axis="y", labelsize="x-small")
    return figure


def draw_panel(axis: Any, panel: pd.DataFrame, position: dict[int, int]) -> None:
    """One metric: a line per feature, arm and version, its band, its alerts (red), and its thresholds (dashed).

    Lines are labelled when few, or when they alerted.
    """
    series = panel.groupby(["feature", "arm", "version"], sort=True)
    for (feature, arm, version), part in series:
        x = np.array([position[w] for w in part["window"]])
        hits = part["alerted"].to_numpy(dtype=bool)
        name = " ".join(str(p) for p in (feature, arm, version) if p != NO_FEATURE)
        label = name if series.ngroups <= MAX_LABELS or hits.any() else None
        line = axis.plot(x, part["value"], marker="o", markersize=3, linewidth=1, label=label)[0]
        if part["low"].notna().any():
            axis.fill_between(x, part["low"], part["high"], color=line.get_color(), alpha=0.2, linewidth=0)
        axis.plot(x[hits], part["value"].to_numpy()[hits], "o", color="red", markersize=5)
    for threshold in sorted(panel["threshold"].dropna().unique()):
        axis.axhline(threshold, color="grey", linestyle="--", linewidth=0.8)
    if axis.get_legend_handles_labels()[1]:
        axis.legend(fontsize="xx-small", loc="upper left")  # not "best": it tries every place against every line
