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
from ..evaluation.metrics import metric_for
from ..io import atomic_path, write_json
from ..registry import PROD
from .compare import ArmSummary, Comparison, compare_arms, labelled_users, summarise_arms
from .decide import Decision, broken_guardrails, decide
from .evidence import Evidence, load_evidence
from .plots import render_rollout_plots
from .rescore import Scorer, load_scorers

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
    scorers: dict[str, Scorer] | None = None,
) -> Rollout:
    """Read the logs in `logs` (a folder or an S3 prefix), from `since` on, and decide the rollout's next action.

    `scorers` score logged inputs per version; by default each version is loaded from the registry.
    """
    if settings.mode == "none":
        raise PipelineError("params.yaml: rollout.mode is none, so there is no rollout to report on")
    evidence = load_evidence(logs, positive_class, since)
    arms = summarise_arms(evidence, gate.metric)
    metric, users = metric_for(gate.metric, evidence.task, "gate.metric")[0], labelled_users(evidence)
    candidate = next((arm for arm in arms if arm.arm == settings.candidate_arm), None)
    prod = next((arm for arm in arms if arm.arm == PROD), None)
    # Guardrails and the outcome count decide first; only then are the versions loaded and compared.
    if candidate is None or prod is None or broken_guardrails(candidate, settings) or users < settings.min_outcomes:
        comparison = Comparison(metric, users, None, None, None, None, "not compared yet")
    else:
        versions = prod.version, candidate.version
        comparison = compare_arms(
            evidence,
            settings.candidate_arm,
            versions,
            lambda: scorers or load_scorers(_logged_sha256(evidence, versions)),
            gate,
            settings.planned_outcomes,
            seed,
        )
    return Rollout(settings, evidence, arms, comparison, decide(settings, arms, comparison, gate.max_regression))


def _logged_sha256(evidence: Evidence, versions: tuple[str, str]) -> dict[str, str]:
    logged = evidence.requests.drop_duplicates("version", keep="last").set_index("version")["sha256"]
    return {version: str(logged[version]) for version in versions}


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
    """Both versions' metric on the same users, the decision's bounds and the bootstrap's interval."""
    if comparison.bounds is None or comparison.interval is None:
        return f"No bounds yet: {comparison.note or 'too few outcomes'} ({comparison.outcomes:,} users compared)."
    b, i = comparison.bounds, comparison.interval
    return (
        f"Both versions scored the same {comparison.outcomes:,} users with an outcome: prod "
        f"{_number(comparison.prod)}, candidate {_number(comparison.candidate)}, {b.delta:+.4f}. "
        f"The decision's always-valid {b.confidence:.0%} bounds (they hold at every look): "
        f"[{b.low:+.4f}, {b.high:+.4f}]. At this one look, {i.confidence:.0%} paired bootstrap interval "
        f"({i.resamples:,} resamples): [{i.low:+.4f}, {i.high:+.4f}]."
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
        "(both versions score every labelled user, whichever arm served them; one outcome per user).",
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
        "outcomes": comparison.outcomes,
        "prod": comparison.prod,
        "candidate": comparison.candidate,
        "bounds": None if comparison.bounds is None else asdict(comparison.bounds),
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
