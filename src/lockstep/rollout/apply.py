"""Act on a rollout decision, so that each one is a tag or a commit a person can read.

- next-step: a commit that sets the canary's `percent` in conf/rollout/ and recomposes params.yaml;
- promote: GTO assigns the candidate's version to `prod` and unassigns the candidate's stage;
- rollback: GTO unassigns the candidate's stage (a `model#<stage>!#N` tag);
- wait: nothing.

The tags and the commit carry the decision's reasons. Pushing them is the
caller's part (`make ci-rollout-apply`).
"""

from __future__ import annotations

import re
import subprocess

from .. import paths, registry
from ..config import compose_params
from ..errors import PipelineError
from ..registry import PROD
from .decide import Action

PERCENT_LINE = re.compile(r"(?m)^percent:[ \t]*[^\s#]+")


def widen(conf_text: str, percent: float) -> str:
    """A rollout config file's text with its top-level `percent:` set to `percent` (comments kept)."""
    changed, count = PERCENT_LINE.subn(f"percent: {percent:g}", conf_text, count=1)
    if not count:
        raise PipelineError("the rollout config has no top-level `percent:` line to change")
    return changed


def _check_candidate(repo: str, stage: str, version: str) -> None:
    current = registry.stage_version(repo, stage)
    if current != version:
        raise PipelineError(
            f"stage {stage!r} holds {current or 'no version'}, not {version} that the report judged: "
            "the rollout moved since; run the report again"
        )


def _commit_next_step(mode: str, percent: float, message: str) -> str:
    conf = paths.ROLLOUT_CONF_DIR / f"{mode}.yaml"
    if not conf.is_file():
        raise PipelineError(f"{conf} not found: the rollout's mode {mode!r} has no config file to widen")
    before = conf.read_text(encoding="utf-8")
    conf.write_text(widen(before, percent), encoding="utf-8")
    try:
        compose_params()
    except PipelineError:
        conf.write_text(before, encoding="utf-8")  # nothing half-changed
        raise
    subprocess.run(["git", "add", str(conf), str(paths.PARAMS_FILE)], check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], check=True)
    return f"committed: {message.splitlines()[0]}"


def apply_decision(
    action: Action, stage: str, version: str, reasons: list[str], mode: str = "", percent: float | None = None
) -> str:
    """Carry out `action` on the candidate `version` in `stage` (in the current repository); say what was done."""
    if action is Action.WAIT:
        return "wait: nothing to change"
    _check_candidate(".", stage, version)
    why = "\n".join(f"- {reason}" for reason in reasons)
    if action is Action.NEXT_STEP:
        if mode != "canary" or percent is None:
            raise PipelineError("next-step widens a canary: give --mode canary and --percent")
        return _commit_next_step(mode, percent, f"rollout: widen the canary {version} to {percent:g}%\n\n{why}\n")
    if action is Action.PROMOTE:
        registry.assign(".", version, PROD, message=f"rollout: promote {version} from {stage}\n\n{why}")
        registry.unassign(".", version, stage, message=f"rollout: {version} left {stage} for {PROD}\n\n{why}")
        return f"promoted {version} to {PROD}; {stage} unassigned"
    registry.unassign(".", version, stage, message=f"rollout: roll back {version} from {stage}\n\n{why}")
    return f"rolled back: {version} unassigned from {stage}"
