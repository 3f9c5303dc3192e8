"""The `lockstep` command: one subcommand per pipeline stage, plus `params`.

Each subcommand reads params.yaml, calls the stage's function and exits; the
stages in dvc.yaml call these. Heavy libraries are imported only by the
subcommand that needs them, so `lockstep --help` stays instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from lockstep import __version__, paths
from lockstep.config import Config, compose_params, load_params
from lockstep.errors import LockstepError


def _ingest(cfg: Config) -> None:
    from lockstep.data.ingest import run_ingest

    run_ingest(cfg.data.ingest)


def _prepare(cfg: Config) -> None:
    from lockstep.data.prepare import run_prepare

    run_prepare(cfg)


def _train(cfg: Config) -> None:
    from lockstep.modeling.train import run_train

    run_train(cfg)


def _evaluate(cfg: Config) -> None:
    from lockstep.evaluation.evaluate import run_evaluate

    run_evaluate(cfg)


STAGES: dict[str, tuple[Callable[[Config], None], str]] = {
    "ingest": (_ingest, "produce the raw table (data/raw/) from the configured source"),
    "prepare": (_prepare, "validate the raw table against the schema and split it (data/prepared/)"),
    "train": (_train, "fit the preprocessing + model Pipeline and save it with skops (models/)"),
    "evaluate": (_evaluate, "score the model on the test set: metrics, plots, slices, model card (metrics/)"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `lockstep` command."""
    parser = argparse.ArgumentParser(prog="lockstep", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"lockstep {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in STAGES.items():
        stage = commands.add_parser(name, help=help_text, description=help_text)
        stage.add_argument("--params", type=Path, default=paths.PARAMS_FILE, help="params file (default: params.yaml)")
    compose = commands.add_parser(
        "params",
        help="compose conf/ into params.yaml, as `dvc exp run` does",
        description="compose conf/ into params.yaml",
    )
    compose.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=random_forest model.max_depth=8")
    compose.add_argument("--check", action="store_true", help="only check that params.yaml equals the composition")
    return parser


def _compose(args: argparse.Namespace) -> None:
    if not args.check:
        compose_params(args.overrides)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "params.yaml"
        compose_params(args.overrides, output=fresh)
        if not paths.PARAMS_FILE.is_file() or fresh.read_bytes() != paths.PARAMS_FILE.read_bytes():
            raise LockstepError("params.yaml differs from the composition of conf/: run `make params` and commit it")


def main(argv: list[str] | None = None) -> int:
    """Run the `lockstep` command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "params":
            _compose(args)
        else:
            STAGES[args.command][0](load_params(args.params))
    except LockstepError as exc:
        print(f"lockstep {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
