"""The one retrain pull request, through the GitHub CLI (`gh`): find the open one, open one, or update it.

`gh` authenticates with GH_TOKEN. Which token decides whether the pull request's
own checks start: one from a GitHub App (the retrain workflow's default) or a
fine-grained PAT does; GITHUB_TOKEN does not, so with it the pull request opens as
a draft, and the person who marks it ready for review starts the checks.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import PipelineError


@dataclass(frozen=True)
class PullRequest:
    """An open pull request: its number and URL."""

    number: int
    url: str


def gh(*args: str) -> str:
    """Run `gh`; its output, or one line with its complaint."""
    try:
        done = subprocess.run(["gh", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise PipelineError(
            "the GitHub CLI `gh` is not installed: a runner has it; install it to run this locally"
        ) from None
    if done.returncode != 0:
        reason = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]
        raise PipelineError(f"gh {args[0]} {args[1]} failed: {reason}")
    return done.stdout


def find_open(branch: str, base: str) -> PullRequest | None:
    """The open pull request from `branch` into `base`, if there is one."""
    found = json.loads(gh("pr", "list", "--head", branch, "--base", base, "--state", "open", "--json", "number,url"))
    return PullRequest(int(found[0]["number"]), str(found[0]["url"])) if found else None


def last_closed(branch: str) -> datetime | None:
    """When the last pull request from `branch` was closed or merged, if ever."""
    found = json.loads(gh("pr", "list", "--head", branch, "--state", "closed", "--json", "closedAt", "--limit", "1"))
    return datetime.fromisoformat(found[0]["closedAt"].replace("Z", "+00:00")) if found else None


def open_or_update(existing: PullRequest | None, branch: str, base: str, title: str, body: Path, draft: bool) -> str:
    """Update `existing` (title and body), or open a pull request from `branch`; returns its URL."""
    if existing is not None:
        gh("pr", "edit", str(existing.number), "--title", title, "--body-file", str(body))
        return existing.url
    args = ["pr", "create", "--head", branch, "--base", base, "--title", title, "--body-file", str(body)]
    return gh(*args, *(["--draft"] if draft else [])).strip().splitlines()[-1]
