"""`simulate`: send synthetic traffic with known drift to a running server, and its outcomes after a delay."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from ..errors import PipelineError

Number = TypeVar("Number", int, float)


def register(commands: argparse._SubParsersAction) -> None:
    """Add `simulate`."""
    simulate = commands.add_parser(
        "simulate",
        help="send synthetic rows, with known drift, to a running server's /v1/predict, and their outcomes to "
        "/v1/feedback after a delay",
    )
    simulate.add_argument("--url", default="http://127.0.0.1:8080", help="the server (default: http://127.0.0.1:8080)")
    simulate.add_argument("--rows", default="2000", metavar="N", help="rows to send, one a request (default: 2000)")
    simulate.add_argument("--seed", default="1", help="the same seed sends the same rows (default: 1)")
    simulate.add_argument(
        "--shift", action="append", default=[], metavar="FEATURE=K", help="move a numeric feature by K std (repeatable)"
    )
    simulate.add_argument(
        "--new-category",
        action="append",
        default=[],
        metavar="FEATURE=VALUE:SHARE",
        help="give SHARE of the rows an unknown category VALUE (repeatable)",
    )
    simulate.add_argument(
        "--missing", action="append", default=[], metavar="FEATURE=SHARE", help="hide SHARE of a feature (repeatable)"
    )
    simulate.add_argument("--prior", metavar="RATE", help="the positive rate, by moving the label model's intercept")
    simulate.add_argument(
        "--concept",
        nargs="?",
        const="credit_utilization",
        metavar="TERM",
        help="flip the sign of a term of the label model (alone: credit_utilization)",
    )
    simulate.add_argument("--concurrency", default="4", metavar="N", help="connections at once (default: 4)")
    simulate.add_argument(
        "--outcome-delay",
        default="1",
        metavar="SECONDS",
        help="post each outcome this long after its answer (default: 1; 0: at once)",
    )
    simulate.add_argument("--no-outcomes", action="store_true", help="post no outcomes")
    simulate.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from ..data.simulate import parse_drift, send_traffic, simulated_rows

    rows = _option("--rows", args.rows, int, lambda n: n > 0, "a positive integer")
    seed = _option("--seed", args.seed, int, lambda n: n >= 0, "an integer, 0 or more")
    concurrency = _option("--concurrency", args.concurrency, int, lambda n: 0 < n <= 64, "an integer from 1 to 64")
    delay = _option("--outcome-delay", args.outcome_delay, float, lambda s: 0 <= s < 86_400, "seconds, 0 or more")
    try:
        drift = parse_drift(args.shift, args.new_category, args.missing, args.prior, args.concept)
    except ValueError as exc:
        raise PipelineError(str(exc)) from None
    records, outcomes = simulated_rows(rows, seed, drift)
    try:
        summary = send_traffic(args.url, records, None if args.no_outcomes else outcomes, concurrency, delay)
    except ValueError as exc:
        raise PipelineError(f"--url {exc}") from None
    print(f"simulate: {summary.line(args.url)}")
    if summary.answered == 0:
        raise PipelineError(f"no row was answered by {args.url}: {summary.first_error}")
    return 0


def _option(
    option: str, text: str, kind: Callable[[str], Number], valid: Callable[[Number], bool], what: str
) -> Number:
    """`text` as a `kind`, or a one-line error naming the option (argparse's would print the usage too)."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not valid(value):
        raise PipelineError(f"{option} {text}: give {what}")
    return value
