"""Report: the markdown a pull request gets, and the gate's exit code.

`write_report` writes the same files locally (`make report BASE=main`) as in
CI, where `cml comment update` posts them as one sticky comment.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .. import paths
from ..config import DEFAULT_METRICS, resolve_metric
from ..io import atomic_path
from .compare import Comparison, changed_params, flatten_keys, gate_config, ignored_gate_changes, worse_slices
from .render import render_plots
from .verdict_file import write_verdict

WATERMARK = "Model report"


def _number(value: Any) -> str:
    if value is not None and not isinstance(value, int | float):  # data.json's decisions: `datetime, dropped`
        return f"`{value}`"
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"


def _delta(base: Any, new: Any) -> str:
    if not isinstance(base, int | float) or not isinstance(new, int | float):
        return "–"
    difference = new - base
    if isinstance(base, int) and isinstance(new, int):
        return f"{difference:+,}"
    return f"{difference:+.4f}" if math.isfinite(difference) else "–"


def _value(value: Any) -> str:
    return "–" if value is None else f"`{value}`"


def metrics_table(
    base: dict[str, Any] | None, new: dict[str, Any] | None, labels: tuple[str, str], primary: str
) -> list[str]:
    """A markdown table of every metric: base, new and the change; the primary one starred."""
    base, new = flatten_keys(base or {}), flatten_keys(new or {})
    lines = [f"| metric | {labels[0]} | {labels[1]} | change |", "| --- | ---: | ---: | ---: |"]
    for name in sorted(set(base) | set(new), key=lambda n: (n != primary, n)):
        mark = "★ " if name == primary else ""
        old, value = base.get(name), new.get(name)
        lines.append(f"| {mark}{name} | {_number(old)} | {_number(value)} | {_delta(old, value)} |")
    return lines


def _hash(md5: str | None) -> str:
    return f"md5 `{md5}`" if md5 else "none"


def render_markdown(comparison: Comparison, images: list[str]) -> str:
    """The whole report as markdown."""
    base, new, verdict = comparison.base, comparison.new, comparison.verdict
    labels = (base.label, new.label)
    headline = "✅ the gate passes" if verdict.passed else "❌ the gate fails"
    lines = [
        f"## {WATERMARK}: {headline}",
        "",
        *([*comparison.trigger, ""] if comparison.trigger else []),
        f"Compared with `{base.label}`. Primary metric: `{verdict.metric}` (★).",
        "",
        f"Model `{paths.MODEL_FILE}` of this revision: {_hash(new.model_md5)}; of the base: {_hash(base.model_md5)}.",
        "",
    ]
    lines += ["### Gate", ""] + [f"- {reason}" for reason in verdict.reasons]
    if comparison.test_set_note:
        lines.append(f"- {comparison.test_set_note[0].upper()}{comparison.test_set_note[1:]}")
    ignored = ignored_gate_changes(base, new)
    if ignored:
        settings = ", ".join(f"`{key}` ({_value(old)} → {_value(value)})" for key, old, value in ignored)
        lines.append(
            f"- This revision changes {settings}: the gate applies the base branch's settings, "
            "so the change takes effect once merged"
        )
    if verdict.interval is not None:
        i = verdict.interval
        lines.append(
            f"- Change {i.delta:+.4f}, {i.confidence:.0%} confidence interval [{i.low:+.4f}, {i.high:+.4f}] "
            f"({comparison.interval_note})"
        )
    elif comparison.interval_note:
        lines.append(f"- No confidence interval: {comparison.interval_note}")
    lines += ["", "### Metrics", "", *metrics_table(base.metrics, new.metrics, labels, verdict.metric)]
    lines += ["", "### Data", "", *metrics_table(base.data, new.data, labels, "")]
    lines += comparison.datasets
    lines += comparison.golden
    lines += ["", "### Changed params", ""]
    changes = changed_params(base, new)
    if changes:
        lines += [f"| param | {labels[0]} | {labels[1]} |", "| --- | --- | --- |"]
        lines += [f"| `{key}` | {_value(old)} | {_value(value)} |" for key, old, value in changes]
    else:
        lines.append("No params changed.")
    tolerance = gate_config(base, new).max_regression
    lines += ["", "### Slices that got worse", ""]
    slices = worse_slices(comparison, tolerance)
    if slices:
        lines += [
            f"| feature | value | rows | {labels[0]} | {labels[1]} | change |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {s['feature']} | {s['value']} | {s['rows']:,} | {s['base']:.4f} | {s['new']:.4f} "
            f"| {s['delta']:+.4f} ({s['metric']}) |"
            for s in slices
        ]
    else:
        lines.append(f"No slice lost more than {tolerance:g} against the base.")
    if images:
        lines += ["", "### Plots", "", f"Grey: `{base.label}`; blue: {new.label}.", ""]
        lines += [f"![{name.removesuffix('.png')}]({name})" for name in images]
    return "\n".join(lines) + "\n"


def importance_metric(comparison: Comparison) -> str:
    """The metric this revision's feature importance measured (its evaluate.importance_metric, resolved)."""
    new = comparison.new
    setting = ((new.params or {}).get("evaluate") or {}).get("importance_metric", "auto")
    task = (new.card or {}).get("task")
    return resolve_metric(setting, task) if task in DEFAULT_METRICS else str(setting)


def write_report(comparison: Comparison, out_dir: Path, with_plots: bool = True) -> Path:
    """Write report.md, its images and verdict.json into `out_dir`; return the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = (comparison.base.label, comparison.new.label)
    images = []
    if with_plots:
        metric = importance_metric(comparison)
        images = render_plots(comparison.base.plots, comparison.new.plots, labels, out_dir, metric)
    report = out_dir / "report.md"
    with atomic_path(report) as tmp:
        tmp.write_text(render_markdown(comparison, images), encoding="utf-8")
    write_verdict(comparison.verdict, comparison.base.label, out_dir / "verdict.json")
    return report
