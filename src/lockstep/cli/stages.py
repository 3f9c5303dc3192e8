"""`ingest`, `prepare`, `train`, `evaluate` (the stages dvc.yaml runs) and `params` (compose conf/)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .. import paths
from ..config import Params, compose_params, load_params
from ..errors import PipelineError
from .common import add_params_argument


def _ingest(cfg: Params) -> None:
    from ..data.ingest import run_ingest

    run_ingest(cfg.data.ingest)


def _prepare(cfg: Params) -> None:
    from ..data.prepare import run_prepare

    run_prepare(cfg)


def _train(cfg: Params) -> None:
    from ..modeling.train import run_train

    run_train(cfg)


def _evaluate(cfg: Params) -> None:
    from ..evaluation.evaluate import run_evaluate

    run_evaluate(cfg)


STAGES: dict[str, tuple[Callable[[Params], None], str]] = {
    "ingest": (_ingest, "produce the raw table (data/raw/) from the configured source"),
    "prepare": (_prepare, "validate the raw table against the schema and split it (data/prepared/)"),
    "train": (_train, "fit the preprocessing + model Pipeline and save it with skops (models/)"),
    "evaluate": (_evaluate, "score the model on the test set: metrics, plots, slices, model card (metrics/)"),
}


def register(commands: argparse._SubParsersAction) -> None:
    """Add the stages' subcommands and `params`."""
    for name, (run_stage, help_text) in STAGES.items():
        stage = commands.add_parser(name, help=help_text, description=help_text)
        add_params_argument(stage)
        stage.set_defaults(handler=lambda args, run_stage=run_stage: run_stage(load_params(args.params)))
    compose = commands.add_parser(
        "params",
        help="compose conf/ into params.yaml, as `dvc exp run` does, and check all of it",
        description="compose conf/ into params.yaml, and check every key against the schema",
    )
    compose.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=random_forest model.max_depth=8")
    compose.add_argument(
        "--check", action="store_true", help="only check that params.yaml is valid and equals the composition"
    )
    compose.set_defaults(handler=_compose)


def _compose(args: argparse.Namespace) -> None:
    if not args.check:
        compose_params(args.overrides)
        return
    import tempfile

    load_params()  # the committed file itself must pass the schema, whatever conf/ composes to
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "params.yaml"
        compose_params(args.overrides, output=fresh)
        if not paths.PARAMS_FILE.is_file() or fresh.read_bytes() != paths.PARAMS_FILE.read_bytes():
            raise PipelineError("params.yaml differs from the composition of conf/: run `make params` and commit it")
