"""`rollout status | report | apply | export`: watch a shadow, canary or A/B rollout, act on it, deploy it elsewhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import paths
from .common import add_github_output, add_params_argument, utc_time


def register(commands: argparse._SubParsersAction) -> None:
    """Add `rollout` and its actions."""
    rollout = commands.add_parser("rollout", help="report on a shadow, canary or A/B rollout and act on its decision")
    actions = rollout.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="print the rollout in progress: mode, share, versions")
    add_params_argument(status)
    add_github_output(status, "mode=<mode>")
    status.set_defaults(handler=_status)

    report = actions.add_parser(
        "report",
        help="write report.md, plots and decision.json from the prediction and feedback logs; "
        "exit 0 wait, 3 next-step, 4 promote, 5 rollback (2: an error)",
    )
    report.add_argument(
        "--logs",
        required=True,
        help="the serving logs (prediction and feedback): the log folder, a copy of it, or the s3://bucket/prefix "
        "that `serve --log-upload` ships to",
    )
    report.add_argument(
        "--since", type=utc_time, help="only the records from this UTC time on, e.g. 2026-12-06T14:00 (default: all)"
    )
    report.add_argument("--out", type=Path, default=paths.ROLLOUT_REPORT_DIR, help="default: reports/rollout/")
    add_params_argument(report)
    add_github_output(report, "decision=, stage=, version=")
    report.set_defaults(handler=_report)

    apply = actions.add_parser(
        "apply", help="act on decision.json: a commit (next-step) or GTO tags (promote, rollback); wait does nothing"
    )
    apply.add_argument("--decision", type=Path, default=paths.DECISION_FILE)
    apply.add_argument(
        "--expect",
        choices=["wait", "next-step", "promote", "rollback"],
        help="refuse unless the decision is this one (what the approved run saw)",
    )
    apply.set_defaults(handler=_apply)

    export = actions.add_parser(
        "export", help="write the rollout as KServe or Seldon Core 2 manifests, with the versions in GTO's stages"
    )
    export.add_argument("--target", choices=["kserve", "seldon"], required=True)
    export.add_argument("--out", type=Path, required=True, help="the YAML file to write")
    export.add_argument("--name", default="model", help="the InferenceService or Experiment name (default: model)")
    export.add_argument(
        "--image",
        help="a registry-qualified image; {version} is replaced. KServe: the serving image (default:"
        " $IMAGE_REGISTRY:{version}, what `make push-image` pushes); Seldon: an MLServer image that loads the bundle",
    )
    export.add_argument("--storage-uri", help="Seldon: where each version's model is; {version} is replaced")
    add_params_argument(export)
    export.set_defaults(handler=_export)


def _status(args: argparse.Namespace) -> None:
    from ..rollout.commands import run_status

    print(f"rollout: {run_status(args.params, args.output)}")


def _report(args: argparse.Namespace) -> int:
    from ..rollout.commands import run_report

    return run_report(args.logs, args.out, args.params, args.output, args.since)


def _apply(args: argparse.Namespace) -> None:
    from ..rollout.commands import run_apply

    print(f"rollout: {run_apply(args.decision, args.expect)}")


def _export(args: argparse.Namespace) -> None:
    from ..rollout.export import run_export

    files = run_export(args.target, args.out, args.name, args.image, args.storage_uri, args.params)
    print(f"export: {', '.join(map(str, files))} (for {args.target}; how to apply them: their first lines)")
