"""Cut the CRDs' openAPIV3Schema down to what the export emits, and write it here as JSON.

Run by hand when the pinned versions change (see README.md), with a CRD's YAML
from its repository: `python vendor.py <crd.yaml> <out.json> <source note>`.
Descriptions are dropped. Under an object, every property keeps its name, so a
field the CRD does not know still fails the test; the schema of a property off
the emitted paths (KEEP) becomes `{}`, accepting anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

# The dotted property paths the export emits ("[]" steps into an array's items); all below a kept path is kept.
KEEP = {
    "InferenceService": [
        "spec.predictor.canaryTrafficPercent",
        "spec.predictor.containers",
    ],
    "Model": ["spec"],
    "Experiment": ["spec"],
    "Server": [
        "spec.serverConfig",
        "spec.capabilities",
        "spec.podSpec.containers",
    ],
}


def strip(schema: Any) -> Any:
    """`schema` without its descriptions (a property named description is kept)."""
    if isinstance(schema, list):
        return [strip(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key == "properties":
            out[key] = {name: strip(sub) for name, sub in value.items()}
        else:
            out[key] = strip(value)
    return out


def prune(schema: dict[str, Any], keep: list[list[str]]) -> dict[str, Any]:
    """`schema` with the properties off every kept path cut to `{}`."""
    if any(not path for path in keep):
        return strip(schema)
    out = {key: strip(value) for key, value in schema.items() if key not in ("properties", "items", "description")}
    if "items" in schema:
        out["items"] = prune(schema["items"], [path[1:] for path in keep if path[0] == "[]"])
    if "properties" in schema:
        out["properties"] = {}
        for name, sub in schema["properties"].items():
            below = [path[1:] for path in keep if path[0] == name]
            out["properties"][name] = prune(sub, below) if below else {}
    return out


def main(crd_file: str, out_file: str, source: str) -> None:
    """Write the storage version's pruned schema of the CRD in `crd_file` to `out_file`."""
    crd = yaml.safe_load(Path(crd_file).read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    kind = crd["spec"]["names"]["kind"]
    keep = [path.split(".") for path in KEEP[kind]]
    schema = prune(version["schema"]["openAPIV3Schema"], keep)
    document = {
        "source": source,
        "apiVersion": f"{crd['spec']['group']}/{version['name']}",
        "kind": kind,
        "openAPIV3Schema": schema,
    }
    Path(out_file).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
