"""`registry` (GTO versions and stages), `run-cache` (share it) and `bundle` (package a version)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import PipelineError
from .common import add_github_output


def register(commands: argparse._SubParsersAction) -> None:
    """Add `registry`, `run-cache` and `bundle`."""
    registry = commands.add_parser("registry", help="version and stage the model with GTO tags")
    actions = registry.add_subparsers(dest="action", required=True, metavar="ACTION")
    register_version = actions.add_parser(
        "register",
        help="register HEAD's model as a new version if its bytes changed (idempotent); "
        "refuses unless the reproduced outputs are HEAD's and the DVC remote holds them",
    )
    register_version.add_argument("--stage", help="also assign this stage to the version (idempotent)")
    add_github_output(register_version, "`version=<version>`")
    register_version.set_defaults(handler=_register)
    assign = actions.add_parser("assign", help="assign a stage to a registered version (idempotent)")
    assign.add_argument("--version", required=True, help="a registered version, e.g. v0.2.0")
    assign.add_argument("--stage", required=True, help="the stage, e.g. staging or prod")
    assign.set_defaults(handler=lambda args: _assign(args.version, args.stage))
    which = actions.add_parser("which", help="print the version in a stage")
    which.add_argument("--stage", required=True)
    which.set_defaults(handler=_which)

    sharing = commands.add_parser(
        "run-cache", help="push or pull the run-cache's Git-tracked outputs (after dvc push/pull)"
    )
    sharing.add_argument("direction", choices=["push", "pull"])
    sharing.add_argument("--remote", "-r", help="DVC remote (default: the default remote)")
    sharing.set_defaults(handler=_run_cache)

    bundle = commands.add_parser("bundle", help="package the checked-out model and card for deployment, verified")
    bundle.add_argument("--out", type=Path, required=True, help="folder to write the bundle into")
    bundle.add_argument("--version", required=True, help="the registered version being deployed")
    bundle.add_argument("--stage", required=True, help="the stage it is deployed to")
    bundle.set_defaults(handler=_bundle)


def _register(args: argparse.Namespace) -> None:
    from .. import registry
    from ..registry.lockfile import require_published

    require_published()
    version, created = registry.register(".")
    print(f"{registry.ARTIFACT} {version} ({'registered' if created else 'unchanged: already registered'})")
    if args.output:
        with args.output.open("a", encoding="utf-8") as output:
            output.write(f"version={version}\n")
    if args.stage:
        _assign(version, args.stage)


def _assign(version: str, stage: str) -> None:
    from .. import registry

    assigned = registry.assign(".", version, stage)
    print(f"{registry.ARTIFACT} {version} -> {stage} ({'assigned' if assigned else 'already assigned'})")


def _which(args: argparse.Namespace) -> None:
    from .. import registry

    version = registry.stage_version(".", args.stage)
    if version is None:
        raise PipelineError(f"no version of {registry.ARTIFACT} is in stage {args.stage!r}")
    print(version)


def _run_cache(args: argparse.Namespace) -> None:
    from dvc.repo import Repo

    from ..registry import runcache

    moved = getattr(runcache, args.direction)(Repo("."), remote=args.remote)
    print(f"run-cache: {moved} Git-tracked output object(s) {'pushed' if args.direction == 'push' else 'pulled'}")


def _bundle(args: argparse.Namespace) -> None:
    from ..registry.bundle import write_bundle

    # The model's libraries are those its contract records: the version's own training config, not today's.
    manifest = write_bundle(args.out, args.version, args.stage)
    print(f"bundle: {args.out} ({manifest['model']['sha256'][:12]}, {args.version} -> {args.stage})")
