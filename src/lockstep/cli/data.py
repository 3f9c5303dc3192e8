"""`data`: the dataset registry. Publish a tracked dataset, list a registry, use a version, update or verify a pin."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .. import paths
from ..config import Stage
from ..errors import PipelineError
from .common import PROG, utc_time

if TYPE_CHECKING:
    from ..registry.pinning import Moved

STAGES = (str(Stage.DEV), str(Stage.PROD))


def register(commands: argparse._SubParsersAction) -> None:
    """Add `data publish|list|use|update|verify|golden|assign`."""
    data = commands.add_parser("data", help="the dataset registry: publish, list, use, update and verify datasets")
    actions = data.add_subparsers(dest="action", required=True, metavar="ACTION")

    publish = actions.add_parser("publish", help="publish a DVC-tracked file as a new version of dataset NAME")
    publish.add_argument("name", help="the dataset's name: lower-case letters, digits and dashes")
    publish.add_argument("--path", type=Path, help="the file (default: the artifact's path in dvc.yaml, else data/raw)")
    version = publish.add_mutually_exclusive_group()
    version.add_argument("--version", help="the version, e.g. 1.2.0 (default: bump the latest)")
    version.add_argument("--bump", choices=["major", "minor", "patch"], default="minor", help="default: minor")
    publish.add_argument("--stage", choices=STAGES, help="also assign this stage to the version")
    publish.add_argument("--license", dest="license_", help="the data's license, e.g. CC-BY-4.0")
    publish.add_argument("--push", action="store_true", help="git push the commit and its tags to origin")
    publish.set_defaults(handler=_publish)

    listing = actions.add_parser("list", help="the versions, stages and datasheets a registry publishes")
    listing.add_argument("repo", help="the registry's Git URL or path")
    listing.add_argument("name", nargs="?", help="one dataset (default: all)")
    listing.add_argument("--json", action="store_true", help="print the datasheets as JSON")
    listing.set_defaults(handler=_list)

    use = actions.add_parser("use", help="pin NAME@VERSION (or @stage) of a registry into data/source/NAME")
    use.add_argument("repo", help="the registry's Git URL or path")
    use.add_argument("dataset", help="NAME@VERSION or NAME@STAGE, e.g. credit-loans@1.0.0 or credit-loans@prod")
    _remote_config(use)
    use.set_defaults(handler=_use)

    update = actions.add_parser("update", help="move the pin of NAME to a newer version (default: the newest)")
    update.add_argument("name")
    update.add_argument("--to", help="a version or a stage (default: the newest version)")
    update.add_argument(
        "--accept-schema-change", action="store_true", help="take a version whose schema breaks the contract"
    )
    _remote_config(update)
    update.set_defaults(handler=_update)

    verify = actions.add_parser("verify", help="check each pin's bytes, and its provenance when the registry answers")
    verify.add_argument("names", nargs="*", help="datasets to check (default: all)")
    verify.set_defaults(handler=lambda args: _print_lines(_verify(args.names)))

    traffic = actions.add_parser(
        "from-traffic", help="the served rows joined with their outcomes, as data/source/NAME.parquet (then publish it)"
    )
    traffic.add_argument("name", help="the dataset's name")
    traffic.add_argument("--logs", required=True, help="the serving logs: a folder or s3://bucket/prefix")
    traffic.add_argument("--since", type=utc_time, help="from this time: ISO 8601, epoch seconds, or 30d ago")
    traffic.add_argument("--until", type=utc_time, help="before this time (default: now)")
    traffic.set_defaults(handler=_from_traffic)

    golden = actions.add_parser(
        "golden", help="freeze the current test set as the golden holdout every review scores both models on"
    )
    golden.add_argument("--from", dest="source", type=Path, default=paths.TEST_SET, help="default: the test set")
    golden.add_argument("--force", action="store_true", help="replace a golden holdout frozen before")
    golden.set_defaults(handler=_golden)

    assign = actions.add_parser("assign", help="assign a stage to a published version (idempotent)")
    assign.add_argument("name")
    assign.add_argument("--version", required=True)
    assign.add_argument("--stage", required=True, choices=STAGES)
    assign.add_argument("--push", action="store_true", help="git push the tag to origin")
    assign.set_defaults(handler=_assign)


def _remote_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source-remote-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the registry's DVC remote that it keeps out of Git (e.g. endpointurl=...); repeatable",
    )


def settings(pairs: list[str]) -> dict[str, str]:
    """`--source-remote-config KEY=VALUE` arguments as a mapping, or one line naming the bad one."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PipelineError(f"--source-remote-config {pair!r}: write KEY=VALUE, e.g. endpointurl=https://...")
        settings[key] = value
    return settings


def _publish(args: argparse.Namespace) -> None:
    from ..registry.datasets import publish
    from ..registry.tags import assign

    path = args.path or _declared_path(args.name) or paths.RAW_DATASET
    sheet = publish(args.name, path, args.version, args.bump, args.license_)
    print(f"data: published {args.name} {sheet['version']} ({sheet['rows']:,} rows, md5 {sheet['md5']}) from {path}")
    if args.stage:
        assign(".", sheet["version"], args.stage, artifact=args.name)
        print(f"data: {args.name} {sheet['version']} -> {args.stage}")
    _push(args.push)


def _declared_path(name: str) -> Path | None:
    import yaml

    artifacts = (yaml.safe_load(Path("dvc.yaml").read_text(encoding="utf-8")) or {}).get("artifacts") or {}
    declared = artifacts.get(name) or {}
    return Path(declared["path"]) if declared.get("type") == "data" and declared.get("path") else None


def _push(push: bool) -> None:
    from ..registry.datasets import run_git

    if push:
        run_git("push", "-q", "--follow-tags", "origin", "HEAD")
        print("data: pushed the commit and its tags to origin")
    else:
        print("data: share it with `git push --follow-tags origin HEAD`")


def _list(args: argparse.Namespace) -> None:
    from ..registry.datasets import open_source, stage_names

    with open_source(args.repo) as source:
        names = [args.name] if args.name else source.names()
        rows = []
        for name in names:
            for version in source.versions(name):
                sheet = source.datasheet(name, version["commit_hexsha"])
                rows.append(sheet | {"stages": stage_names(version), "commit": version["commit_hexsha"]})
    if args.name and not rows:
        raise PipelineError(f"{args.repo} publishes no dataset {args.name!r}")
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
        return
    print(f"{'dataset':<20} {'version':<9} {'stages':<10} {'rows':>12} {'columns':>7}  md5       commit    license")
    for row in rows:
        stages = ",".join(row["stages"]) or "-"
        print(
            f"{row['name']:<20} {row['version']:<9} {stages:<10} {row['rows']:>12,} {len(row['columns']):>7}  "
            f"{row['md5'][:8]}  {row['commit'][:8]}  {row.get('license') or '-'}"
        )


def _use(args: argparse.Namespace) -> None:
    from ..registry.pinning import bring

    name, at, ref = args.dataset.partition("@")
    if not at or not ref:
        raise PipelineError(f"{args.dataset!r}: name a version or a stage, e.g. {name or 'credit-loans'}@1.0.0")
    moved = bring(args.repo, name, ref, settings(args.source_remote_config), False, first_use=True)
    _report(moved)
    if moved.before != moved.after:
        print(f"data: conf/data/{name}.yaml is now the data config; `make repro`, then commit what changed")


def _update(args: argparse.Namespace) -> None:
    from ..registry.pinning import update

    moved = update(args.name, args.to, settings(args.source_remote_config), args.accept_schema_change)
    _report(moved)
    for line in moved.differences:
        print(f"data: schema change accepted: {line}")
    if moved.before != moved.after:
        print("data: `make repro`, then commit and open a pull request: its report shows the data diff")


def _report(moved: Moved) -> None:
    before = moved.before.version if moved.before else "none"
    if moved.before == moved.after:
        print(f"data: {moved.after.label} is already pinned ({moved.data_file})")
        return
    print(f"data: {moved.after.name} {before} -> {moved.after.version} in {moved.data_file} (md5 {moved.after.md5})")


def _verify(names: list[str]) -> list[str]:
    from ..registry.pinning import verify

    lines = verify(names)
    if not lines:
        raise PipelineError(f"no pinned dataset{' named ' + ', '.join(names) if names else ''}: `{PROG} data use` one")
    return lines


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        print(f"data: {line}")


def _from_traffic(args: argparse.Namespace) -> None:
    from ..registry.datasets import check_name
    from ..registry.traffic import mix_file, traffic_dataset

    data_file, mix = traffic_dataset(check_name(args.name), args.logs, args.since, args.until)
    versions = ", ".join(f"{version}: {rows:,}" for version, rows in mix["rows_per_version"].items())
    print(
        f"data: {data_file}: {mix['labelled_rows']:,} labelled rows of {mix['served_rows']:,} served "
        f"({mix['labelled_share']:.1%}), {mix['window'][0]} to {mix['window'][1]}; served by {versions}"
    )
    print(
        f"data: commit {data_file}.dvc and {mix_file(data_file)}, "
        f"then `{PROG} data publish {args.name} --path {data_file}`"
    )


def _golden(args: argparse.Namespace) -> None:
    from ..registry.pinning import freeze_golden

    rows = freeze_golden(args.source, args.force)
    tracker = f"{paths.GOLDEN_SET}.dvc"
    print(f"data: froze {rows:,} rows of {args.source} as {paths.GOLDEN_SET}; commit {tracker} and its .gitignore")


def _assign(args: argparse.Namespace) -> None:
    from ..registry.datasets import semver
    from ..registry.tags import assign

    version = "v" + ".".join(map(str, semver(args.version)))
    done = assign(".", version, args.stage, artifact=args.name)
    print(f"data: {args.name} {version} -> {args.stage} ({'assigned' if done else 'already assigned'})")
    _push(args.push)
