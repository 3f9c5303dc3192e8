"""One retrain: move the data to what is new, reproduce, commit on the retrain branch, and open or update its PR.

The retrain always starts again from the base branch, so its branch holds one
commit on top of the base: the pinned datasets moved to their newest versions,
the pipeline reproduced, and `metrics/trigger.json` saying why. The pull request
then goes through the same review and gate as any other. There is never a second
open retrain pull request: an open one is updated (its branch force-pushed, its
body rewritten). With no new data there is nothing to learn from, so nothing opens.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .. import PACKAGE, paths
from ..config import RetrainConfig
from ..data.pins import pinned_files
from ..errors import PipelineError
from ..io import atomic_path
from ..registry.datasets import run_git
from ..registry.pinning import Moved, update
from ..review.trigger import Trigger
from . import pull_request

# What a retrain commits: the pins and their datasheets, the data config, the lock, the metrics and the trigger.
COMMITTED = ("conf", paths.PARAMS_FILE.as_posix(), "dvc.lock", "metrics", "data/source", "data/datasheets")


@dataclass(frozen=True)
class Outcome:
    """What a retrain did: `opened`, `updated`, `nothing` (no new data) or `cooldown`; with why and the PR's URL."""

    action: str
    detail: str
    url: str | None = None


def retrain(
    trigger: Trigger, cfg: RetrainConfig, draft: bool = False, remote_config: dict[str, str] | None = None
) -> Outcome:
    """Run one retrain for `trigger` (see the module's docstring)."""
    if run_git("status", "--porcelain", "--untracked-files=no"):
        raise PipelineError("the work tree has uncommitted changes: a retrain starts from a clean checkout")
    existing = pull_request.find_open(cfg.branch, cfg.base)
    if existing is None and (waiting := cooldown_left(cfg)) is not None:
        return Outcome(
            "cooldown",
            f"the last retrain pull request closed less than {cfg.cooldown_hours:g} h ago "
            f"(another may open in {waiting})",
        )
    run_git("fetch", "-q", "origin", cfg.base)
    started_on = run_git("rev-parse", "--abbrev-ref", "HEAD")
    run_git("checkout", "-q", "-B", cfg.branch, f"origin/{cfg.base}")
    dvc("pull")  # the base's data and outputs: what did not change is not recomputed, and `dvc status` is exact
    moved = [step for step in move_data(remote_config or {}) if step.before != step.after]
    stale = [] if moved else stale_stages()  # a push that changed a source on the base without reproducing it
    if not moved and not stale:
        run_git("checkout", "-q", started_on if started_on != "HEAD" else f"origin/{cfg.base}")
        return Outcome(
            "nothing",
            "no new data: every pinned dataset is at its newest version and the pipeline is up to date, "
            "so a retrain would reproduce the same model",
        )
    changes = describe_moves(moved) or [f"the base's data changed without a new model: {', '.join(stale)} re-run"]
    trigger = replace(trigger, evidence=[*trigger.evidence, *changes])
    title = f"Retrain: {trigger.kind} ({', '.join(step.after.label for step in moved) or 'changed data'})"
    commit_and_push(trigger, title, cfg.branch)
    with tempfile.NamedTemporaryFile("w", suffix=".md", prefix=f"{PACKAGE}-retrain-", delete=False) as body:
        body.write(pull_request_body(trigger))
    url = pull_request.open_or_update(existing, cfg.branch, cfg.base, title, Path(body.name), draft)
    Path(body.name).unlink()
    return Outcome("updated" if existing else "opened", title, url)


def commit_and_push(trigger: Trigger, title: str, branch: str) -> None:
    """Record the trigger, reproduce, push the outputs, commit, and force-push the retrain branch."""
    with atomic_path(paths.RETRAIN_TRIGGER) as tmp:
        tmp.write_text(trigger.to_json(), encoding="utf-8")
    dvc("repro")
    dvc("push")  # the review and the registry read the outputs from the remote
    run_git("add", "--all", "--", *COMMITTED)
    run_git("commit", "-q", "-m", title, "-m", "\n".join(trigger.markdown()))
    run_git("push", "-q", "--force", "origin", f"HEAD:refs/heads/{branch}")


def cooldown_left(cfg: RetrainConfig, now: datetime | None = None) -> timedelta | None:
    """How long until a new retrain pull request may open, or None if it may now."""
    closed = pull_request.last_closed(cfg.branch)
    if closed is None:
        return None
    left = closed + timedelta(hours=cfg.cooldown_hours) - (now or datetime.now(UTC))
    return left if left > timedelta(0) else None


def move_data(remote_config: dict[str, str]) -> list[Moved]:
    """Move every pinned dataset to its registry's newest version (a schema change stops the retrain)."""
    return [update(pin.name, None, remote_config, accept_schema_change=False) for pin in pinned_files().values()]


def describe_moves(moved: list[Moved]) -> list[str]:
    """One evidence line per dataset that moved."""
    return [
        f"dataset `{step.after.name}`: {step.before.version if step.before else 'none'} → {step.after.version} "
        f"from `{step.after.repo}`"
        for step in moved
    ]


def stale_stages() -> list[str]:
    """The pipeline's stages whose inputs changed since dvc.lock (`dvc status`), by name."""
    done = subprocess.run([dvc_command(), "status", "--json"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PipelineError(f"dvc status failed during the retrain: {(done.stderr.strip() or 'no output')[:200]}")
    return sorted(name.split(":")[-1] for name in json.loads(done.stdout or "{}"))


def dvc_command() -> str:
    """The `dvc` of this environment."""
    return str(Path(sys.executable).with_name("dvc"))


def dvc(command: str) -> None:
    """Run `dvc COMMAND`, or raise one line with its last complaint."""
    done = subprocess.run([dvc_command(), command], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise PipelineError(f"dvc {command} failed during the retrain: {tail[0]}")


def pull_request_body(trigger: Trigger) -> str:
    """The pull request's description: why, then what the review will show."""
    return (
        "\n".join(
            [
                *trigger.markdown(),
                "",
                "The review's report on this pull request compares the retrained model with the base branch's on "
                "this pull request's test set, with the data diff of every dataset that moved. The gate decides; "
                "a person merges.",
                "",
                f"_Opened by `{PACKAGE} retrain`. A later trigger updates this pull request; none opens beside it._",
            ]
        )
        + "\n"
    )
