"""Pins: the published dataset versions this project uses, each recorded in its `.dvc` file's `meta`.

`data use` brings a version's bytes into `data/source/NAME.<suffix>` and tracks them
with `dvc add`, so they live in this project's cache and remote like any data
it owns, and `dvc pull` never needs the source. The `.dvc` file's `meta.dataset`
records where they came from (repository, version, commit, path, md5), which DVC
itself ignores. Ingest checks the file against its pin, so a corrupted copy stops
the pipeline with one line instead of training on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import PACKAGE, paths
from ..errors import PipelineError
from ..io import file_md5

DVC_SUFFIX = ".dvc"


@dataclass(frozen=True)
class Pin:
    """One used dataset version: its name, version and source, and the md5 of its bytes."""

    name: str
    version: str
    repo: str  # the registry's Git URL, as given to `data use`
    commit: str  # the registry's commit the version is tagged on
    path: str  # the file's path in the registry
    md5: str

    @property
    def label(self) -> str:
        """`name@version`."""
        return f"{self.name}@{self.version}"


def dvc_file(data_file: Path) -> Path:
    """The `.dvc` file that tracks `data_file`."""
    return data_file.with_name(data_file.name + DVC_SUFFIX)


def parse_pin(text: str | bytes) -> Pin | None:
    """The pin a `.dvc` file's text records, or None for a `.dvc` file of data the project owns."""
    record = yaml.safe_load(text) or {}
    dataset = (record.get("meta") or {}).get("dataset") if isinstance(record, dict) else None
    if not isinstance(dataset, dict):
        return None
    try:
        return Pin(**{key: str(dataset[key]) for key in Pin.__dataclass_fields__})
    except KeyError as exc:
        raise PipelineError(f"a .dvc file's meta.dataset has no {exc}: run `{PACKAGE} data use` again") from None


def read_pin(data_file: Path) -> Pin | None:
    """The pin of `data_file`, or None when no `.dvc` file pins it to a published version."""
    tracker = dvc_file(data_file)
    return parse_pin(tracker.read_bytes()) if tracker.is_file() else None


def pinned_files(source_dir: Path = paths.SOURCE_DIR) -> dict[Path, Pin]:
    """Every pinned data file under `source_dir`, by path."""
    found = {}
    for tracker in sorted(source_dir.glob(f"*{DVC_SUFFIX}")):
        pin = parse_pin(tracker.read_bytes())
        if pin is not None:
            found[tracker.with_name(tracker.name.removesuffix(DVC_SUFFIX))] = pin
    return found


def write_pin(data_file: Path, pin: Pin) -> None:
    """Add `pin` to the `.dvc` file that `dvc add` wrote for `data_file`, keeping what DVC wrote."""
    tracker = dvc_file(data_file)
    record: dict[str, Any] = yaml.safe_load(tracker.read_text(encoding="utf-8"))
    recorded = record["outs"][0]["md5"]
    if recorded != pin.md5:
        raise PipelineError(f"{data_file}: DVC recorded md5 {recorded}, but {pin.label} is {pin.md5}")
    record["meta"] = {"dataset": asdict(pin)}
    tracker.write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")


def check_pinned_bytes(data_file: Path) -> Pin | None:
    """Raise PipelineError unless a pinned file holds its pinned bytes; returns its pin (None if unpinned)."""
    pin = read_pin(data_file)
    if pin is None:
        return None
    actual = file_md5(data_file)
    if actual != pin.md5:
        raise PipelineError(
            f"{data_file}: its bytes (md5 {actual}) are not {pin.label}'s ({pin.md5}): the copy is corrupted, "
            f"or an update was interrupted; restore it with `dvc pull --force {dvc_file(data_file)}` "
            f"from a good remote, or run `{PACKAGE} data update {pin.name}` (again)"
        )
    return pin
