"""The report's "Datasets" section: which published dataset versions this revision moved, and how the data moved.

For each pin (data/source/NAME.*.dvc, see data/pins.py) that differs from the
base's: the versions before and after, the schema differences between their
datasheets, the rows added and removed, and the columns that drifted (the
monitor's test, `monitoring.datadiff`). The base's bytes come from the DVC
cache or remote like any output the report reads.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
from pathlib import Path

import pandas as pd

from .. import paths
from ..config import ColumnRule
from ..data.datasheet import schema_differences
from ..data.pins import DVC_SUFFIX, Pin, parse_pin, pinned_files
from ..monitoring.datadiff import DataDiff, data_diff
from ..registry.revision import Revision, git_bytes, resolve_commit

log = logging.getLogger(__name__)
SHOWN_COLUMNS = 10


def base_pins(commit: str) -> dict[Path, Pin]:
    """The pinned data files committed at `commit`, by path."""
    listed = subprocess.run(
        ["git", "ls-tree", "--name-only", commit, f"{paths.SOURCE_DIR.as_posix()}/"], capture_output=True, text=True
    ).stdout.split()
    found = {}
    for name in listed:
        if name.endswith(DVC_SUFFIX) and (pin := parse_pin(git_bytes(Path(name), commit) or b"")) is not None:
            found[Path(name.removesuffix(DVC_SUFFIX))] = pin
    return found


def read_table(raw: bytes, path: Path) -> pd.DataFrame:
    """A data file's bytes as a table (CSV or Parquet, by its suffix)."""
    reader = pd.read_parquet if path.suffix.lower() in {".parquet", ".pq"} else pd.read_csv
    return reader(io.BytesIO(raw))


def datasheet_at(name: str, commit: str | None) -> dict | None:
    """The datasheet of `name` at `commit` (None: the work tree's), or None."""
    path = paths.DATASHEETS_DIR / f"{name}.json"
    raw = git_bytes(path, commit) if commit else (path.read_bytes() if path.is_file() else None)
    return json.loads(raw) if raw else None


def dataset_section(base_rev: str) -> list[str]:
    """The markdown lines of the report's Datasets section; none when no pin changed."""
    try:
        commit = resolve_commit(base_rev)
    except Exception:  # the comparison itself reports a missing base
        return []
    before, after = base_pins(commit), pinned_files()
    lines: list[str] = []
    with Revision(commit) as revision:
        for path in sorted(set(before) | set(after)):
            old, new = before.get(path), after.get(path)
            if old == new:
                continue
            lines += describe_change(path, old, new, revision)
    return ["", "### Datasets", "", *lines] if lines else []


def describe_change(path: Path, old: Pin | None, new: Pin | None, revision: Revision) -> list[str]:
    """The lines for one pin that moved (or appeared, or went)."""
    if new is None or old is None:
        pin = new or old
        assert pin is not None
        return [f"- `{pin.name}`: {'now uses' if new else 'no longer uses'} {pin.version} from `{pin.repo}`"]
    lines = [f"- `{new.name}`: {old.version} → **{new.version}** from `{new.repo}` (md5 `{old.md5}` → `{new.md5}`)"]
    old_sheet, new_sheet = datasheet_at(new.name, revision.commit), datasheet_at(new.name, None)
    if new_sheet and new_sheet.get("traffic"):
        lines.append(traffic_line(new_sheet["traffic"]))
    if old_sheet and new_sheet:
        rules = {name: ColumnRule.model_validate(rule) for name, rule in old_sheet["schema"].items()}
        lines += [f"  - schema: {line}" for line in schema_differences(rules, new_sheet["schema"])]
    try:
        before = read_table(revision.dvc(path), path)
    except Exception as exc:  # not in the cache nor the remote: say so, the rest of the report stands
        log.warning("%s at the base is unavailable (%s)", path, type(exc).__name__)
        return [*lines, f"  - the base's copy of {path} cannot be read, so there is no row diff: `dvc pull` it"]
    after = read_table(path.read_bytes(), path)
    id_column = (new_sheet or {}).get("id_column")
    return lines + diff_lines(data_diff(before, after, id_column), len(before), len(after))


def traffic_line(mix: dict) -> str:
    """The mix of a labelled-traffic version: a served sample, not the population (docs/retraining.md)."""
    served_by = ", ".join(f"{version} {rows:,}" for version, rows in mix["rows_per_version"].items())
    return (
        f"  - ⚠️ labelled traffic: {mix['labelled_rows']:,} of {mix['served_rows']:,} served rows "
        f"({mix['labelled_share']:.1%}) from {mix['window'][0]} to {mix['window'][1]}, served by {served_by}: "
        "rows a model chose to answer, not a sample of everyone"
    )


def diff_lines(diff: DataDiff, rows_before: int, rows_after: int) -> list[str]:
    """Rows added and removed, then the columns sorted by how far they moved."""
    lines = [
        f"  - rows: {rows_before:,} → {rows_after:,}: {diff.added:,} added, {diff.removed:,} removed, "
        f"{diff.kept:,} kept (matched by {diff.matched_by})"
    ]
    table = diff.drift.sort_values("distance", ascending=False, kind="stable")
    drifted = table[table["drift"]]
    lines.append(
        f"  - drift (the monitor's test, old version as reference): "
        f"{', '.join(f'`{name}`' for name in drifted['feature']) or 'no column'} drifted"
    )
    lines += ["", "    | column | distance | floor | p (Holm) | drifted |", "    | --- | ---: | ---: | ---: | --- |"]
    lines += [
        f"    | {row.feature} | {row.distance:.4f} | {row.floor:.4f} | {row.p_adjusted:.2g} | "
        f"{'🚨 yes' if row.drift else 'no'} |"
        for row in table.head(SHOWN_COLUMNS).itertuples()
    ]
    return [*lines, ""]
