"""The rollout report: per-arm traffic, failures, latency, scores and agreement, the metric, and the decision.

`build_rollout` is pure (logs and settings in, summaries and decision out);
`write_rollout_report` writes report.md, its plots and decision.json into one
folder, which a workflow posts and acts on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config import GateConfig, RolloutConfig
from ..errors import PipelineError
from ..io import atomic_path, write_json
from .compare import ArmSummary, Comparison, compare_arms, summarise_arms
from .decide import Decision, decide
from .evidence import Evidence, load_evidence
from .plots import render_rollout_plots

WATERMARK = "Rollout report"
HEADLINES = {
    "wait": "⏳ keep collecting",
    "next-step": "➡️ widen the canary",
    "promote": "✅ promote the candidate",
    "rollback": "↩️ roll the candidate back",
}


@dataclass(frozen=True)
class Rollout:
    """Everything the report shows."""

    settings: RolloutConfig
    evidence: Evidence
    arms: list[ArmSummary]
    comparison: Comparison
    decision: Decision


def build_rollout(
    logs: Path | str,
    settings: RolloutConfig,
    gate: GateConfig,
    seed: int,
    positive_class: Any = None,
    since: float | None = None,
) -> Rollout:
    """Read the logs in `logs` (a folder or an S3 prefix), from `since` on, and decide the rollout's next action."""
    if settings.mode == "none":
        raise PipelineError("params.yaml: rollout.mode is none, so there is no rollout to report on")
    evidence = load_evidence(logs, positive_class, since)
    arms = summarise_arms(evidence, gate.metric)
    comparison = compare_arms(evidence, settings.candidate_arm, settings.mode == "shadow", gate, seed)
    return Rollout(settings, evidence, arms, comparison, decide(settings, arms, comparison, gate.max_regression))


def _number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def arms_table(arms: list[ArmSummary], metric: str) -> list[str]:
    """One markdown row per arm."""
    lines = [
        f"| arm | version | requests | share | errors | p50 ms | p95 ms | p99 ms | outcomes | same label as prod "
        f"| {metric} |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for arm in arms:
        name = arm.arm if arm.served else f"{arm.arm} (not served)"
        agreement = "–" if arm.agreement is None else f"{arm.agreement:.2%}"
        p50, p95, p99 = (f"{arm.latency_ms[p]:.1f}" for p in (50, 95, 99))
        lines.append(
            f"| {name} | `{arm.version}` | {arm.requests:,} | {arm.share:.1%} | {arm.error_rate:.2%} "
            f"| {p50} | {p95} | {p99} | {arm.outcomes:,} | {agreement} | {_number(arm.metric)} |"
        )
    return lines


def metric_line(comparison: Comparison) -> str:
    """The candidate's metric against prod's, with its interval, in one sentence."""
    if comparison.interval is None:
        return f"No interval yet: {comparison.note or 'too few outcomes'} ({comparison.outcomes:,} compared)."
    i = comparison.interval
    return (
        f"prod {_number(comparison.prod)}, candidate {_number(comparison.candidate)}: {i.delta:+.4f}, "
        f"{i.confidence:.0%} interval [{i.low:+.4f}, {i.high:+.4f}] over {comparison.outcomes:,} outcomes "
        f"({i.resamples:,} {'paired' if comparison.paired else 'unpaired'} bootstrap resamples)."
    )


def render_markdown(rollout: Rollout, images: list[str]) -> str:
    """The whole report as markdown."""
    settings, decision, comparison = rollout.settings, rollout.decision, rollout.comparison
    percent = f" at {settings.percent:g}%" if settings.mode == "canary" else ""
    lines = [
        f"## {WATERMARK}: {HEADLINES[decision.action]}",
        "",
        f"Mode `{settings.mode}`{percent}; candidate: stage `{decision.stage}`, version "
        f"`{decision.version or 'none yet'}`. Primary metric: `{comparison.metric}` "
        f"({'paired on the same rows' if comparison.paired else 'unpaired: the arms served different users'}).",
        "",
        f"### Decision: `{decision.action}`",
        "",
        *[f"- {reason}" for reason in decision.reasons],
        "",
        "### Arms",
        "",
        *arms_table(rollout.arms, comparison.metric),
        "",
        f"### `{comparison.metric}` on the outcomes",
        "",
        metric_line(comparison),
    ]
    dropped = rollout.evidence.dropped
    if dropped:
        left_out = ", ".join(f"{count:,} of `{arm}`" for arm, count in sorted(dropped.items()))
        lines += ["", f"Records of earlier versions left out: {left_out}."]
    if images:
        lines += ["", "### Plots", ""] + [f"![{name.removesuffix('.png')}]({name})" for name in images]
    return "\n".join(lines) + "\n"


def decision_record(rollout: Rollout) -> dict[str, Any]:
    """decision.json: the decision and the numbers behind it."""
    comparison = rollout.comparison
    return {
        **{k: str(v) if k == "action" else v for k, v in asdict(rollout.decision).items()},
        "metric": comparison.metric,
        "paired": comparison.paired,
        "outcomes": comparison.outcomes,
        "prod": comparison.prod,
        "candidate": comparison.candidate,
        "interval": None if comparison.interval is None else asdict(comparison.interval),
    }


def write_rollout_report(rollout: Rollout, out_dir: Path, with_plots: bool = True) -> Path:
    """Write report.md, its plots and decision.json into `out_dir`; return the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images = render_rollout_plots(rollout.evidence, out_dir) if with_plots else []
    write_json(decision_record(rollout), out_dir / "decision.json")
    report = out_dir / "report.md"
    with atomic_path(report) as tmp:
        tmp.write_text(render_markdown(rollout, images), encoding="utf-8")
    return report
