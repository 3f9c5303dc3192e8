"""A recording stand-in for the GitHub CLI's `gh workflow run` (the runners' `gh`; no API here).

Like `gh`, it needs GH_TOKEN (or GITHUB_TOKEN) and a repository (GH_REPO); it
records each dispatch (workflow, ref, `-f` inputs) in a JSON state file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Record `gh workflow run WORKFLOW [--ref REF] [-f key=value ...]`; refuse anything else."""
    if argv[:2] != ["workflow", "run"] or len(argv) < 3:
        print(f"gh stand-in: unsupported call: gh {' '.join(argv)}", file=sys.stderr)
        return 1
    if not (os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")):
        print("gh stand-in: GH_TOKEN is not set", file=sys.stderr)
        return 4
    workflow, ref, inputs = argv[2], "", {}
    rest = iter(argv[3:])
    for arg in rest:
        if arg == "--ref":
            ref = next(rest)
        elif arg in ("-f", "--raw-field", "-F", "--field"):
            key, value = next(rest).split("=", 1)
            inputs[key] = value
        else:
            print(f"gh stand-in: unsupported argument {arg!r}", file=sys.stderr)
            return 1
    state_file = Path(os.environ["GH_STAND_IN_STATE"])
    state = json.loads(state_file.read_text()) if state_file.exists() else {"dispatches": []}
    state["dispatches"].append(
        {"workflow": workflow, "ref": ref, "inputs": inputs, "repository": os.environ.get("GH_REPO", "")}
    )
    state_file.write_text(json.dumps(state, indent=2))
    print(f"Created workflow_dispatch event for {workflow} at {ref or 'the default branch'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
