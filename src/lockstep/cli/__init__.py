"""The project's command-line tool: one subcommand per pipeline stage, plus the tools around it.

Each area registers its own subcommands (`stages`, `data`, `review`, `registry`,
`serving`, `rollout`, `monitor`, `simulate`, `retrain`); a handler parses its arguments, calls the area's
function and prints what happened. Heavy libraries are imported only by the
handler that needs them, so `--help` stays instant; the areas themselves are
imported when the parser is built, because `run` first re-executes the process
to pin it (numerics.py) and what the first process imported is thrown away. The
command is named after the package (see `[project.scripts]` in pyproject.toml).
"""

from __future__ import annotations

import argparse
import logging
import sys

from .. import __version__, numerics
from ..errors import PipelineError
from .common import PROG, describe_os_error


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command: every area adds its subcommands, each with its handler."""
    from . import data, monitor, registry, retrain, review, rollout, serving, simulate, stages

    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in (stages, data, review, registry, serving, rollout, monitor, simulate, retrain):
        area.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.handler(args) or 0
    except PipelineError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder: outputs are atomic, so nothing is half-written
        print(f"{PROG} {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2


def run() -> None:
    """The console script: pin the numerical environment (see numerics.py), then run the command."""
    numerics.pin_process()
    sys.exit(main())


__all__ = ["PROG", "build_parser", "main", "run"]
