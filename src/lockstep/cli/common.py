"""What every area's subcommands share: the program's name, common arguments, and error wording."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import PACKAGE, paths

# The console script has the package's name (pyproject.toml [project.scripts]).
PROG = PACKAGE


def add_params_argument(parser: argparse.ArgumentParser) -> None:
    """`--params FILE`, default params.yaml."""
    parser.add_argument("--params", type=Path, default=paths.PARAMS_FILE, help="params file (default: params.yaml)")


def add_github_output(parser: argparse.ArgumentParser, what: str) -> None:
    """`--output FILE`: where to append `what` (CI passes GITHUB_OUTPUT)."""
    parser.add_argument("--output", type=Path, help=f"append {what} to this file (GITHUB_OUTPUT)")


def positive(text: str) -> int:
    """An argparse type: a positive integer."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def utc_time(text: str) -> float:
    """An argparse type: a time as seconds since the epoch.

    Given as an ISO 8601 time (UTC unless it names its offset), as seconds since the epoch, or as a duration
    before now (30m, 36h, 7d, 2w: a rolling start for a scheduled run).
    """
    import time
    from datetime import UTC, datetime

    from ..config.monitor import DURATION, UNIT_SECONDS

    if text.replace(".", "", 1).isdigit():
        return float(text)
    if (ago := DURATION.match(text)) is not None:
        return time.time() - int(ago.group(1)) * UNIT_SECONDS[ago.group(2)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time such as 2026-12-06T14:00, 1796083200 or 7d (seven days ago)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def describe_os_error(exc: OSError) -> str:
    """One line for an error from the file system, with what to do about the common ones."""
    import errno

    where = f"{exc.filename}: " if exc.filename else ""
    advice = {
        errno.ENOSPC: "free some disk space and re-run",
        errno.EDQUOT: "free some disk space and re-run",
        errno.EACCES: "check the folder's permissions",
        errno.EROFS: "the file system is read-only",
    }.get(exc.errno or 0, "fix it and re-run")
    return f"{where}{exc.strerror or type(exc).__name__}; {advice}"
