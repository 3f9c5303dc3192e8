"""The rollout's subcommands: read params.yaml and files, call the pure parts, write outputs, say what happened."""

from __future__ import annotations

from pathlib import Path

from ..config import load_params
from ..errors import PipelineError
from ..io import read_json
from .apply import apply_decision
from .decide import EXIT_CODES, Action
from .report import build_rollout, write_rollout_report


def run_status(params_file: Path, github_output: Path | None) -> str:
    """The rollout in progress (mode, share, the versions in prod and the candidate's stage), in one line."""
    from .. import registry

    settings = load_params(params_file).rollout
    if github_output:
        with github_output.open("a", encoding="utf-8") as output:
            output.write(f"mode={settings.mode}\n")
    if settings.mode == "none":
        return "no rollout in progress (rollout.mode is none)"
    share = "" if settings.candidate_share is None else f" at {settings.candidate_share:g}%"
    versions = {
        stage: registry.stage_version(".", stage) or "none" for stage in (registry.PROD, settings.candidate_arm)
    }
    return (
        f"{settings.mode}{share}: {registry.PROD} {versions[registry.PROD]}, "
        f"candidate {versions[settings.candidate_arm]} in stage {settings.candidate_arm}"
    )


def run_report(
    logs: Path | str, out: Path, params_file: Path, github_output: Path | None, since: float | None = None
) -> int:
    """Write the rollout report into `out`; return the decision's exit status (decide.EXIT_CODES)."""
    params = load_params(params_file)
    rollout = build_rollout(logs, params.rollout, params.gate, params.seed, params.data.positive_class, since)
    report = write_rollout_report(rollout, out)
    decision = rollout.decision
    print(f"rollout: {report}: {decision.action} ({decision.stage} {decision.version or '-'})")
    for reason in decision.reasons:
        print(f"rollout: {reason}")
    if github_output:
        with github_output.open("a", encoding="utf-8") as output:
            output.write(f"decision={decision.action}\nstage={decision.stage}\nversion={decision.version}\n")
    return EXIT_CODES[decision.action]


def run_apply(decision_file: Path, expect: str | None) -> str:
    """Act on decision.json, if it is still the `expect`ed decision; say what was done."""
    if not decision_file.is_file():
        raise PipelineError(f"--decision {decision_file}: not found; run the rollout report first")
    record = read_json(decision_file)
    action = Action(record["action"])
    if expect and expect != action:
        raise PipelineError(f"the decision is now {action.value!r}, not {expect!r} as approved: nothing done")
    return apply_decision(
        action, record["stage"], record["version"], record["reasons"], record["mode"], record["percent"]
    )
