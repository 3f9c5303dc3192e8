"""`report` and `gate`: compare this revision's model with the base branch's, and judge it."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import paths


def register(commands: argparse._SubParsersAction) -> None:
    """Add `report` and `gate`."""
    for name, help_text in (
        ("report", "compare this revision's model with BASE's: writes report.md, plots and verdict.json"),
        ("gate", "exit 1 unless this revision's model may replace BASE's (threshold, regression, bootstrap)"),
    ):
        review = commands.add_parser(name, help=help_text, description=help_text)
        review.add_argument("--base", default="main", help="the revision to compare with (default: main)")
        review.add_argument(
            "--not-reproduced",
            action="store_true",
            help="the pipeline failed to reproduce (CI): show the base alone and fail the gate",
        )
        if name == "report":
            review.add_argument("--out", type=Path, default=paths.REPORTS_DIR, help="output folder (default: reports/)")
            review.set_defaults(handler=_report)
        else:
            review.add_argument(
                "--verdict",
                type=Path,
                help="enforce the verdict `report` wrote (CI: reports/verdict.json) instead of judging again",
            )
            review.set_defaults(handler=_gate)


def _report(args: argparse.Namespace) -> int:
    from ..review.committed import review
    from ..review.report import write_report

    comparison = review(args.base, reproduced=not args.not_reproduced)
    report = write_report(comparison, args.out)
    print(f"report: {report} ({'passes' if comparison.verdict.passed else 'fails'} the gate)")
    return 0


def _gate(args: argparse.Namespace) -> int:
    if args.verdict:
        from ..review.verdict_file import read_verdict

        recorded = read_verdict(args.verdict)
        return _print_gate(recorded["passed"], recorded["reasons"], recorded["against"])
    from ..review.committed import review

    comparison = review(args.base, reproduced=not args.not_reproduced)
    return _print_gate(comparison.verdict.passed, comparison.verdict.reasons, comparison.base.label)


def _print_gate(passed: bool, reasons: list[str], against: str) -> int:
    for reason in reasons:
        print(f"gate: {reason}")
    print(f"gate: {'PASS' if passed else 'FAIL'} against {against}")
    return 0 if passed else 1
