"""`monitor`: check the served model's logs against its reference, window by window, and say if an alert fired."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import paths
from .common import add_github_output, add_params_argument, utc_time


def register(commands: argparse._SubParsersAction) -> None:
    """Add `monitor`."""
    monitor = commands.add_parser(
        "monitor",
        help="write report.md, plots and monitor.json from the prediction and feedback logs; "
        "exit 0 no alert, 6 an alert fired (2: an error)",
    )
    monitor.add_argument(
        "--logs",
        required=True,
        help="the serving logs (prediction and feedback): the log folder, a copy of it, or an s3://bucket/prefix",
    )
    reference = monitor.add_mutually_exclusive_group()
    reference.add_argument(
        "--version",
        help="the model version whose reference to use and whose records to check: a version (v0.3.0), "
        "a stage or a bundle folder (default: prod)",
    )
    reference.add_argument(
        "--reference", type=Path, help="a reference file (models/reference.json); every version's records are checked"
    )
    monitor.add_argument(
        "--since",
        type=utc_time,
        help="only the records from this UTC time (ISO 8601), epoch second, or duration ago (7d) on; a time "
        "window starts at its window's start, so the first window is whole",
    )
    monitor.add_argument("--out", type=Path, default=paths.MONITOR_REPORT_DIR, help="default: reports/monitor/")
    add_params_argument(monitor)
    add_github_output(monitor, "alert=true|false, alerts=<count>")
    monitor.set_defaults(handler=_monitor)


def _monitor(args: argparse.Namespace) -> int:
    from ..monitoring.commands import run_monitor_command

    return run_monitor_command(args.logs, args.out, args.params, args.version, args.reference, args.since, args.output)
