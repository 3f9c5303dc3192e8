"""Dataset registry, the publishing side: a tracked data file becomes a versioned dataset with a datasheet.

A version is a GTO tag `NAME@vX.Y.Z` on a commit that holds the file's DVC
record (a `.dvc` file or a stage's output in dvc.lock), the artifact in
dvc.yaml (`type: data`) and the datasheet `data/datasheets/NAME.json`. Stages
(`NAME#dev#N`, `NAME#prod#N`) work as for the model. `Source` reads a registry
from its Git URL alone: a bare clone holds the tags and the datasheets, so
listing versions needs neither a checkout nor the registry's DVC remote.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .. import PACKAGE, paths
from ..config import ColumnRule, Params, load_params
from ..data.datasheet import build_datasheet, infer_rule, schema_differences
from ..errors import PipelineError
from ..io import file_md5, write_json
from .lockfile import locked_md5
from .revision import git_bytes
from .tags import gto_errors, versions_of

NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
FIRST_VERSION = "v1.0.0"
BUMPS = ("major", "minor", "patch")


class UnreachableRegistryError(PipelineError):
    """The registry's Git URL did not answer (offline, moved, or no access)."""


def datasheet_path(name: str) -> Path:
    """Where the datasheet of dataset `name` is kept, in the registry and in a consumer alike."""
    return paths.DATASHEETS_DIR / f"{name}.json"


def check_name(name: str) -> str:
    """`name`, or a PipelineError when it cannot be a dataset's (GTO tag) name."""
    if not NAME.match(name) or name == "model":
        raise PipelineError(
            f"{name!r} cannot name a dataset: use lower-case letters, digits and dashes (not `model`), "
            "e.g. credit-loans"
        )
    return name


def semver(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of `v1.2.3` or `1.2.3`."""
    match = VERSION.match(version)
    if match is None:
        raise PipelineError(f"{version!r} is not a version: use X.Y.Z, e.g. 1.0.0")
    return int(match[1]), int(match[2]), int(match[3])


def next_version(known: list[str], version: str | None, bump: str) -> str:
    """The version to publish: `version` (later than every known one), or the latest bumped by `bump`."""
    latest = max((semver(v) for v in known), default=None)
    if version is not None:
        wanted = semver(version)
        if latest is not None and wanted <= latest:
            raise PipelineError(
                f"version v{'.'.join(map(str, wanted))} is not after the latest, v{'.'.join(map(str, latest))}"
            )
        return "v" + ".".join(map(str, wanted))
    if latest is None:
        return FIRST_VERSION
    part = BUMPS.index(bump)
    bumped = [*latest[:part], latest[part] + 1, *([0] * (2 - part))]
    return "v" + ".".join(map(str, bumped))


def tracked_md5(path: Path, rev: str = "HEAD") -> tuple[str, str]:
    """(md5, command) of a DVC-tracked file as committed at `rev`: a stage's output, or `dvc add`'s."""
    md5 = locked_md5(path, rev)
    if md5 is not None:
        stages = (yaml.safe_load(git_bytes(paths.PROJ_ROOT / "dvc.yaml", rev) or b"") or {}).get("stages", {})
        command = next(
            (str(s.get("cmd")) for s in stages.values() if path.as_posix() in [str(o) for o in s.get("outs", [])]),
            "dvc repro",
        )
        return md5, command
    record = git_bytes(Path(path.as_posix() + ".dvc"), rev)
    if record is None:
        raise PipelineError(
            f"{path} is not tracked by DVC at {rev}: `dvc add {path}` and commit the .dvc file, "
            "or publish a stage's output"
        )
    return str(yaml.safe_load(record)["outs"][0]["md5"]), f"dvc add {path.as_posix()}"


def contract_rules(params: Params | None, columns: list[str]) -> dict[str, ColumnRule]:
    """The project's own column rules for the columns the file has (the rest are inferred)."""
    if params is None:
        return {}
    return {name: rule for name, rule in params.data.schema.columns.items() if name in columns}


def publish(
    name: str, data_path: Path, version: str | None, bump: str = "minor", license_: str | None = None
) -> dict[str, Any]:
    """Publish the committed `data_path` as dataset `name`: datasheet, dvc.yaml artifact, commit, GTO tag.

    Returns the datasheet. The bytes go to the project's DVC remote, so consumers can fetch them.
    """
    from ..data.ingest import read_source_file

    check_name(name)
    if data_path.is_dir():  # DVC's imported folders are where its pulls break (treeverse/dvc#10157)
        raise PipelineError(
            f"{data_path} is a folder: a dataset is one CSV or Parquet file; write the folder's tables into one "
            "Parquet file, or publish each file as a dataset of its own"
        )
    require_shared_remote()
    md5, command = tracked_md5(data_path)
    if file_md5(data_path) != md5:
        raise PipelineError(
            f"{data_path} differs from its committed DVC record: commit it (or `dvc checkout` it) first"
        )
    publishing = next_version([v["version"] for v in versions_of(".", name)], version, bump)
    frame = read_source_file(data_path)
    params = load_params() if paths.PARAMS_FILE.is_file() else None
    columns = [str(c) for c in frame.columns]
    data_cfg = params.data if params is not None else None
    provenance = {
        "source": {"repo": origin_url(), "commit": run_git("rev-parse", "HEAD"), "command": command},
        "license": license_,
        "target": data_cfg.target if data_cfg and data_cfg.target in columns else None,
        "id_column": data_cfg.id_column if data_cfg and data_cfg.id_column in columns else None,
        "positive_class": data_cfg.positive_class if data_cfg and data_cfg.target in columns else None,
    }
    require_rules_met(frame, contract_rules(params, columns))
    push_data(data_path)  # first: a version whose bytes the remote lacks must never be tagged
    mix = data_path.with_name(data_path.stem + ".traffic.json")  # registry/traffic.py's: labelled traffic's mix
    if mix.is_file():
        provenance["traffic"] = json.loads(mix.read_text(encoding="utf-8"))
    identity = {"name": name, "version": publishing, "path": data_path.as_posix(), "md5": md5}
    identity["size"] = data_path.stat().st_size
    sheet = build_datasheet(frame, contract_rules(params, columns), identity, provenance)
    write_json(sheet, datasheet_path(name))
    declare_artifact(name, data_path)
    run_git("add", str(datasheet_path(name)), "dvc.yaml")
    run_git("commit", "-q", "-m", f"Publish dataset {name} {publishing}", "--", str(datasheet_path(name)), "dvc.yaml")
    import gto.api

    with gto_errors():
        gto.api.register(".", name, "HEAD", version=publishing, message=f"{name} {publishing}: {len(frame):,} rows")
    return sheet


def require_rules_met(frame: pd.DataFrame, rules: dict[str, ColumnRule]) -> None:
    """Refuse to publish data that breaks the project's own column rules: its datasheet would promise them."""
    broken = schema_differences(rules, {name: infer_rule(frame[name]).model_dump() for name in rules})
    # pandas reads a whole-number column with gaps as floats, and text as either kind: not a break.
    loose = {("int", "float"), ("category", "string"), ("string", "category")}
    broken = [line for line in broken if not any(f"changed type: {a} -> {b}" in line for a, b in loose)]
    if broken:
        raise PipelineError(f"the data breaks this project's column rules (data.schema.columns): {'; '.join(broken)}")


def require_shared_remote() -> None:
    """Refuse to publish into a DVC remote that only this clone can reach (the template's `.dvc/storage`)."""
    from dvc.repo import Repo

    with Repo(".") as repo:
        remotes = repo.config["remote"]
        default = repo.config["core"].get("remote")
    url = str((remotes.get(default) or {}).get("url", "")) if default else ""
    if not url or ("://" not in url and not Path(url).is_absolute()):
        raise PipelineError(
            f"the default DVC remote ({default or 'none'}: {url or 'no URL'}) is not shared storage, so consumers "
            "could not fetch the data: point it at a bucket first (`make remote-s3 URL=s3://bucket/prefix`)"
        )


def declare_artifact(name: str, data_path: Path) -> None:
    """Declare `name` in dvc.yaml's `artifacts:` as data at `data_path`, keeping the file's comments."""
    from ruamel.yaml import YAML

    parser = YAML()
    parser.width = 4096
    parser.indent(mapping=2, sequence=4, offset=2)
    dvc_yaml = paths.PROJ_ROOT / "dvc.yaml"
    document = parser.load(dvc_yaml.read_text(encoding="utf-8"))
    artifacts = document.setdefault("artifacts", {})
    declared = {"path": data_path.as_posix(), "type": "data", "desc": f"Dataset {name}, published with its datasheet"}
    if dict(artifacts.get(name) or {}) == declared:
        return
    artifacts[name] = declared
    with dvc_yaml.open("w", encoding="utf-8") as handle:
        parser.dump(document, handle)


def push_data(data_path: Path) -> None:
    """Push `data_path`'s bytes to the project's default DVC remote."""
    from dvc.repo import Repo

    try:
        with Repo(".") as repo:
            repo.push(targets=[data_path.as_posix()])
    except Exception as exc:  # no remote, no credentials, a network error: one line for all
        raise PipelineError(
            f"pushing {data_path} to the DVC remote failed ({str(exc).splitlines()[0]}): "
            f"fix the remote and `dvc push {data_path}`"
        ) from None


def origin_url() -> str | None:
    """The URL of the project's `origin`, which consumers name to use its datasets."""
    found = subprocess.run(["git", "remote", "get-url", "origin"], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def run_git(*args: str, cwd: Path | None = None) -> str:
    """Run git; its output, or a PipelineError with its last line of complaint."""
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise PipelineError(f"git {args[0]} failed: {(done.stderr or done.stdout).strip().splitlines()[-1]}")
    return done.stdout.strip()


@dataclass(frozen=True)
class Source:
    """A registry read from a bare clone of its Git URL."""

    url: str
    clone: Path

    def versions(self, name: str) -> list[dict[str, Any]]:
        """GTO's versions of `name`, oldest first, each with its stages (`stages`: names)."""
        found = versions_of(str(self.clone), name)
        return sorted(found, key=lambda v: semver(v["version"]))

    def names(self) -> list[str]:
        """Every dataset that has a datasheet at the registry's HEAD."""
        listed = run_git("ls-tree", "--name-only", "HEAD", f"{paths.DATASHEETS_DIR.as_posix()}/", cwd=self.clone)
        return sorted(Path(line).stem for line in listed.splitlines() if line.endswith(".json"))

    def resolve(self, name: str, ref: str) -> dict[str, Any]:
        """The version `ref` names (a version, or a stage's current version), or one line saying what exists."""
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.names()) or "none"
            raise PipelineError(f"{self.url} publishes no dataset {name!r}; it publishes: {known}")
        if VERSION.match(ref):
            wanted = "v" + ".".join(map(str, semver(ref)))
            found = [v for v in versions if v["version"] == wanted]
        else:
            found = [v for v in versions if ref in stage_names(v)]
        if not found:
            known = ", ".join(v["version"] + "".join(f" ({s})" for s in stage_names(v)) for v in versions)
            raise PipelineError(f"dataset {name} has no version or stage {ref!r} in {self.url}; it has: {known}")
        return found[-1]

    def datasheet(self, name: str, commit: str) -> dict[str, Any]:
        """The datasheet of `name` as committed at `commit` of the registry."""
        raw = git_bytes(datasheet_path(name), commit, self.clone)
        if raw is None:
            raise PipelineError(
                f"{self.url} has no datasheet for {name} at {commit[:12]}: "
                f"it was not published with `{PACKAGE} data publish`"
            )
        return json.loads(raw)


def stage_names(version: dict[str, Any]) -> list[str]:
    """The stages `version` (a row of GTO's `show`) is in now."""
    return sorted(s["stage"] for s in version.get("stages", []) if s.get("is_active", True))


@contextlib.contextmanager
def open_source(url: str) -> Iterator[Source]:
    """A bare clone of the registry at `url`, removed afterwards; one line when it cannot be reached."""
    with tempfile.TemporaryDirectory(prefix=f"{PACKAGE}-registry-") as scratch:
        clone = Path(scratch) / "registry.git"
        done = subprocess.run(["git", "clone", "-q", "--bare", url, str(clone)], capture_output=True, text=True)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no answer"])[-1]
            raise UnreachableRegistryError(
                f"cannot reach the registry {url} ({reason}): check the URL and your access to it"
            )
        yield Source(url, clone)
