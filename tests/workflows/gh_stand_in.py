"""A recording stand-in for the GitHub CLI (the runners' `gh`; no API here).

It answers `gh workflow run` and the pull-request calls `retrain` makes (`gh pr list`, `gh pr create`,
`gh pr edit`). Like `gh`, it needs GH_TOKEN (or GITHUB_TOKEN) and a repository (GH_REPO, optional
here); it records each dispatch (workflow, ref, `-f` inputs) and each pull request (head, base,
title, body, draft, state, and the token that opened it: which token decides whether GitHub starts
the pull request's checks) in a JSON state file, GH_STAND_IN_STATE.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    """Record a dispatch or a pull request, answer a listing; refuse anything else."""
    token = os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")
    if not token:
        print("gh stand-in: GH_TOKEN is not set", file=sys.stderr)
        return 4
    state_file = Path(os.environ["GH_STAND_IN_STATE"])
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    state.setdefault("dispatches", [])
    state.setdefault("pulls", [])
    handlers = {
        ("workflow", "run"): dispatch,
        ("pr", "list"): list_pulls,
        ("pr", "create"): create,
        ("pr", "edit"): edit,
    }
    handler = handlers.get(tuple(argv[:2]))
    if handler is None or len(argv) < 2:
        print(f"gh stand-in: unsupported call: gh {' '.join(argv)}", file=sys.stderr)
        return 1
    code = handler(state, options(argv[2:]), token)
    state_file.write_text(json.dumps(state, indent=2))
    return code


def options(args: list[str]) -> dict[str, Any]:
    """`--key value` pairs (`-f` fields collected in `fields`), flags as True, and the positional arguments."""
    found: dict[str, Any] = {"fields": {}, "positional": []}
    rest = iter(args)
    for arg in rest:
        if arg in ("-f", "--raw-field", "-F", "--field"):
            key, value = next(rest).split("=", 1)
            found["fields"][key] = value
        elif arg == "--draft":
            found["draft"] = True
        elif arg.startswith("--"):
            found[arg[2:]] = next(rest)
        else:
            found["positional"].append(arg)
    return found


def dispatch(state: dict[str, Any], given: dict[str, Any], token: str) -> int:
    workflow = given["positional"][0]
    state["dispatches"].append(
        {
            "workflow": workflow,
            "ref": given.get("ref", ""),
            "inputs": given["fields"],
            "repository": os.environ.get("GH_REPO", ""),
        }
    )
    print(f"Created workflow_dispatch event for {workflow} at {given.get('ref') or 'the default branch'}")
    return 0


def list_pulls(state: dict[str, Any], given: dict[str, Any], token: str) -> int:
    wanted = given.get("state", "open")
    pulls = [
        pull
        for pull in reversed(state["pulls"])
        if pull["head"] == given.get("head", pull["head"])
        and pull["base"] == given.get("base", pull["base"])
        and (wanted == "all" or pull["state"] == wanted)
    ][: int(given.get("limit", 30))]
    fields = given.get("json", "number,url").split(",")
    print(json.dumps([{key: pull.get(key) for key in fields} for pull in pulls]))
    return 0


def create(state: dict[str, Any], given: dict[str, Any], token: str) -> int:
    number = len(state["pulls"]) + 1
    url = f"https://github.com/{os.environ.get('GH_REPO', 'acme/credit-risk')}/pull/{number}"
    state["pulls"].append(
        {
            "number": number,
            "url": url,
            "head": given["head"],
            "base": given["base"],
            "title": given["title"],
            "body": Path(given["body-file"]).read_text(),
            "draft": bool(given.get("draft")),
            "state": "open",
            "token": token,
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "closedAt": None,
            "edits": 0,
        }
    )
    print(url)
    return 0


def edit(state: dict[str, Any], given: dict[str, Any], token: str) -> int:
    number = int(given["positional"][0])
    pull = next((pull for pull in state["pulls"] if pull["number"] == number), None)
    if pull is None:
        print(f"gh stand-in: no pull request #{number}", file=sys.stderr)
        return 1
    pull |= {"title": given.get("title", pull["title"]), "edits": pull["edits"] + 1}
    if "body-file" in given:
        pull["body"] = Path(given["body-file"]).read_text()
    print(pull["url"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
