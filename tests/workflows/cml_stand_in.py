"""A recording stand-in for CML's `cml comment create|update` (CML cannot be installed here).

It keeps the pull request's comments in a JSON state file, as GitHub would:
`update` with a watermark edits the comment carrying it, or creates one.
Like CML, it needs REPO_TOKEN and a readable markdown file, and it "uploads"
(records) every local image the report links to, failing if one is missing.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if argv[:1] != ["comment"] or len(argv) < 3 or argv[1] not in ("create", "update"):
        print(f"cml stand-in: unsupported call: cml {' '.join(argv)}", file=sys.stderr)
        return 1
    if not os.environ.get("REPO_TOKEN"):
        print("cml stand-in: REPO_TOKEN is not set", file=sys.stderr)
        return 1
    options = dict(arg[2:].split("=", 1) for arg in argv[2:] if arg.startswith("--") and "=" in arg)
    files = [arg for arg in argv[2:] if not arg.startswith("--")]
    report = Path(files[0])
    body = report.read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", body)
    missing = [image for image in images if not (report.parent / image).is_file()]
    if missing:
        print(f"cml stand-in: cannot publish missing images {missing}", file=sys.stderr)
        return 1
    state_file = Path(os.environ["CML_STAND_IN_STATE"])
    state = json.loads(state_file.read_text()) if state_file.exists() else {"comments": [], "calls": []}
    state["calls"].append({"argv": argv, "cwd": str(Path.cwd())})
    watermark = options.get("watermark-title", "CML watermark")
    existing = [c for c in state["comments"] if c["watermark"] == watermark]
    if argv[1] == "update" and existing:
        existing[-1].update(body=body, images=images, updates=existing[-1]["updates"] + 1)
    else:
        state["comments"].append(
            {"id": len(state["comments"]) + 1, "watermark": watermark, "body": body, "images": images, "updates": 0}
        )
    state_file.write_text(json.dumps(state, indent=2))
    print(f"https://github.example/pull/comments/{state['comments'][-1]['id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
