"""Dataset registry, the consuming side: use a published version, move the pin, verify it.

Why not `dvc import`: an imported file's bytes stay in the registry's remote, so
a consumer's fresh clone needs the registry and its credentials to `dvc pull`
(treeverse/dvc#9826, #10157), pulls clone the registry even when the data is
cached (#9738), and settings the registry keeps outside Git do not reach the
import (#8544). Here `dvc get` fetches the version once, its md5 is checked
against the datasheet, and `dvc add` makes the bytes the consumer's own: they go
to the consumer's remote, and `dvc pull` and `dvc repro` never touch the registry.
The provenance (repository, version, commit, md5) is kept in the `.dvc` file's
`meta`, and `verify` checks it against the registry whenever that is reachable.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import PACKAGE, paths
from ..config import compose_params, load_params
from ..data.datasheet import schema_differences
from ..data.pins import Pin, check_pinned_bytes, dvc_file, pinned_files, read_pin, write_pin
from ..errors import PipelineError
from ..io import atomic_path, file_md5, write_json, write_parquet
from .datasets import Source, UnreachableRegistryError, datasheet_path, open_source, push_data

CONFIG_FILE = paths.CONF_DIR / "config.yaml"
DATA_CONF_DIR = paths.CONF_DIR / "data"


@dataclass(frozen=True)
class Moved:
    """What `use` or `update` did: the pin before (None for a first use) and after, and the schema's differences."""

    before: Pin | None
    after: Pin
    differences: list[str]
    data_file: Path


def data_file_of(name: str, sheet: dict[str, Any]) -> Path:
    """Where a used dataset's bytes live in the consumer: `data/source/NAME.<the file's suffix>`."""
    return paths.SOURCE_DIR / f"{name}{Path(sheet['path']).suffix}"


def fetch_version(source: Source, sheet: dict[str, Any], commit: str, out: Path, remote_config: dict[str, str]) -> None:
    """Download the version's bytes with `dvc get` into `out`, and check them against the datasheet's md5."""
    from dvc.repo.get import get

    try:
        # From the bare clone already made: DVC reads the registry's remote settings at `commit` from it, and
        # the registry's Git is not fetched a second time.
        get(str(source.clone), sheet["path"], out=str(out), rev=commit, remote_config=remote_config or None)
    except Exception as exc:  # the registry's remote unreachable, or settings it keeps outside Git: one line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PipelineError(
            f"cannot fetch {sheet['name']} {sheet['version']} from the DVC remote of {source.url} ({reason}); "
            "if that remote needs settings the registry keeps out of Git (an endpoint, credentials), "
            "pass them with --source-remote-config KEY=VALUE"
        ) from None
    actual = file_md5(out)
    if actual != sheet["md5"]:
        raise PipelineError(
            f"{sheet['name']} {sheet['version']} from {source.url} has md5 {actual}, "
            f"not its datasheet's {sheet['md5']}: "
            "the registry's remote holds other bytes; ask its owners to push the version again"
        )


def bring(
    url: str, name: str, ref: str, remote_config: dict[str, str], accept_schema_change: bool, first_use: bool
) -> Moved:
    """Pin version `ref` of `name` from the registry at `url`: fetch, check the schema, track, push, configure."""
    with open_source(url) as source:
        version = source.resolve(name, ref)
        commit = version["commit_hexsha"]
        sheet = source.datasheet(name, commit)
        data_file = data_file_of(name, sheet)
        if first_use and not sheet.get("target"):
            raise PipelineError(
                f"the datasheet of {name} {sheet['version']} names no target column: "
                "publish it from a project whose data.target it has"
            )
        before = read_pin(data_file)
        if before is not None and before.commit == commit:
            return Moved(before, before, [], data_file)
        differences = [] if first_use else schema_differences(load_params().data.schema.columns, sheet["schema"])
        if differences and not accept_schema_change:
            lines = "\n".join(f"  {line}" for line in differences)
            raise PipelineError(
                f"{name} {sheet['version']}'s schema differs from this project's contract "
                f"(pass --accept-schema-change to take it, and review the report):\n{lines}"
            )
        with tempfile.TemporaryDirectory(prefix=f"{PACKAGE}-dataset-") as scratch:
            fetched = Path(scratch) / data_file.name
            fetch_version(source, sheet, commit, fetched, remote_config)
            data_file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(data_file) as tmp:
                shutil.move(fetched, tmp)
    pin = Pin(name, sheet["version"], url, commit, sheet["path"], sheet["md5"])
    track(data_file, pin)
    write_json(sheet, datasheet_path(name))
    if first_use or accept_schema_change:
        write_data_config(name, sheet, data_file)
    return Moved(before, pin, differences, data_file)


def track(data_file: Path, pin: Pin) -> None:
    """`dvc add` the file, record its pin in the `.dvc` file, and push the bytes to this project's remote."""
    from dvc.repo import Repo

    with Repo(".") as repo:
        repo.scm_context.quiet = True  # this command says what to commit
        repo.add(data_file.as_posix())
    write_pin(data_file, pin)
    push_data(data_file)


def write_data_config(name: str, sheet: dict[str, Any], data_file: Path) -> None:
    """Write `conf/data/NAME.yaml` from the datasheet, select it in conf/config.yaml, and recompose params.yaml."""
    current = load_params().data
    config = {
        "name": name,
        "ingest": {"source": "file", "path": data_file.as_posix(), "n_rows": None, "seed": current.ingest.seed},
        "target": sheet["target"],
        "id_column": sheet.get("id_column"),
        "task": "auto",
        "positive_class": sheet.get("positive_class"),
        "schema": current.schema.model_dump(mode="json", by_alias=True, exclude={"columns"})
        | {"columns": sheet["schema"]},
    }
    header = (
        f"# Dataset {name} {sheet['version']}, pinned by `{PACKAGE} data use` (provenance: {dvc_file(data_file)}).\n"
        f"# The columns are its datasheet's schema: `{PACKAGE} data update {name}` "
        "refuses a version that breaks them.\n"
    )
    DATA_CONF_DIR.mkdir(parents=True, exist_ok=True)
    with atomic_path(DATA_CONF_DIR / f"{name}.yaml") as tmp:
        tmp.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    select_data_config(name)
    compose_params()


def select_data_config(name: str) -> None:
    """Make `name` the `data:` entry of conf/config.yaml's defaults list (one line changes)."""
    lines = CONFIG_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = [index for index, line in enumerate(lines) if line.strip().startswith("- data:")]
    if len(entry) != 1:
        raise PipelineError(f"{CONFIG_FILE} has no single `- data: ...` line in its defaults: add one")
    indent = lines[entry[0]][: len(lines[entry[0]]) - len(lines[entry[0]].lstrip())]
    lines[entry[0]] = f"{indent}- data: {name}\n"
    with atomic_path(CONFIG_FILE) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")


def pin_named(name: str) -> tuple[Path, Pin]:
    """The pinned file of dataset `name`, or one line listing the pinned ones."""
    pinned = {pin.name: (path, pin) for path, pin in pinned_files().items()}
    if name not in pinned:
        raise PipelineError(
            f"this project uses no dataset {name!r} (it uses: {', '.join(sorted(pinned)) or 'none'}); "
            f"`{PACKAGE} data use REPO {name}@VERSION` first"
        )
    return pinned[name]


def update(name: str, ref: str | None, remote_config: dict[str, str], accept_schema_change: bool) -> Moved:
    """Move the pin of `name` to `ref` (default: the newest version) of the registry it came from."""
    _, pin = pin_named(name)
    if ref is None:
        with open_source(pin.repo) as source:
            versions = source.versions(name)
        ref = versions[-1]["version"] if versions else pin.version
    return bring(pin.repo, name, ref, remote_config, accept_schema_change, first_use=False)


def verify(names: list[str] | None = None) -> list[str]:
    """One line per pin: its bytes checked against the pin, and the pin against the registry when reachable."""
    lines = []
    for data_file, pin in sorted(pinned_files().items()):
        if names and pin.name not in names:
            continue
        check_pinned_bytes(data_file)
        try:
            with open_source(pin.repo) as source:
                version = source.resolve(pin.name, pin.version)
                sheet = source.datasheet(pin.name, version["commit_hexsha"])
        except UnreachableRegistryError:
            lines.append(f"{pin.label}: bytes match the pin; the registry {pin.repo} is unreachable, so not re-checked")
            continue
        if version["commit_hexsha"] != pin.commit or sheet["md5"] != pin.md5:
            raise PipelineError(
                f"{pin.label}: the registry now tags {version['commit_hexsha'][:12]} (md5 {sheet['md5']}), "
                f"but this project pinned {pin.commit[:12]} (md5 {pin.md5}): the version was re-tagged; ask its owners"
            )
        lines.append(f"{pin.label}: bytes match the pin, and the pin matches {pin.repo}")
    return lines


def freeze_golden(source: Path, force: bool) -> int:
    """Copy `source` (the current test set) into the golden holdout, `dvc add` and push it; returns its rows."""
    import pandas as pd
    from dvc.repo import Repo

    if not source.exists():
        raise PipelineError(f"{source} not found: run `make repro` first, or name another file with --from")
    if paths.GOLDEN_SET.exists() and not force:
        raise PipelineError(
            f"{paths.GOLDEN_SET} is frozen already: --force replaces it, and reviews compare on the new one"
        )
    table = pd.read_parquet(source)
    paths.GOLDEN_SET.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():  # compute=dask's partitioned test set: the holdout is one file
        write_parquet(table, paths.GOLDEN_SET)
    else:
        with atomic_path(paths.GOLDEN_SET) as tmp:
            shutil.copyfile(source, tmp)
    with Repo(".") as repo:
        repo.scm_context.quiet = True  # the command says what to commit
        repo.add(paths.GOLDEN_SET.as_posix())
    push_data(paths.GOLDEN_SET)
    return len(table)
