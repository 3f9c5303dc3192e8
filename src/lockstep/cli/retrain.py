"""`retrain`: turn a trigger into one retraining pull request (or an update of the open one)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_github_output


def register(commands: argparse._SubParsersAction) -> None:
    """Add `retrain`."""
    retrain = commands.add_parser(
        "retrain",
        help="move pinned datasets to their newest versions, reproduce, and open or update the retrain pull request",
    )
    retrain.add_argument("--reason", required=True, help="why, in words (the pull request opens with it)")
    retrain.add_argument(
        "--trigger", default="manual", help="schedule, alert, dataset, push or manual (default: manual)"
    )
    retrain.add_argument("--evidence", type=Path, help="a file of evidence lines (e.g. the monitor's alerts)")
    retrain.add_argument(
        "--draft", action="store_true", help="open the pull request as a draft (with GITHUB_TOKEN: see docs)"
    )
    retrain.add_argument(
        "--source-remote-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the registries' DVC remotes kept out of Git (as for `data update`); repeatable",
    )
    add_github_output(retrain, "`action=<opened|updated|nothing|cooldown>` and `url=<the pull request>`")
    retrain.set_defaults(handler=_retrain)


def _retrain(args: argparse.Namespace) -> None:
    from ..config import load_params
    from ..retrain.loop import retrain
    from ..review.trigger import Trigger, parse_kind, read_evidence
    from .data import settings

    trigger = Trigger(parse_kind(args.trigger), args.reason, read_evidence(args.evidence))
    outcome = retrain(trigger, load_params().retrain, args.draft, settings(args.source_remote_config))
    print(f"retrain: {outcome.action}: {outcome.detail}" + (f" ({outcome.url})" if outcome.url else ""))
    if args.output:
        with args.output.open("a", encoding="utf-8") as output:
            output.write(f"action={outcome.action}\nurl={outcome.url or ''}\n")
