"""`ingest`, `prepare`, `train`, `evaluate` (the stages dvc.yaml runs) and `params` (compose conf/)."""

from __future__ import annotations

import argparse
import importlib
import operator
from dataclasses import dataclass
from pathlib import Path

from .. import PACKAGE, paths
from ..config import Engine, Params, compose_params, load_params
from ..errors import PipelineError
from .common import add_params_argument


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: the function that runs it (`module.function(params)`) and what it does.

    `compute.engine: dask` runs `compute.<stage>.<function>(params)` instead: the same stage on a Dask cluster.
    """

    module: str  # in the package, e.g. "data.ingest"; dvc.yaml's deps must cover its imports (a test checks)
    function: str
    help: str
    section: str = ""  # the part of the params the function takes ("data.ingest"); empty: all of them

    @property
    def dask_module(self) -> str:
        """The module of the stage on Dask (it takes all the params)."""
        return f"compute.{self.module.rpartition('.')[2]}"

    def run(self, cfg: Params) -> None:
        """Import the stage's module (only now: `--help` stays instant) and run it on `cfg`."""
        if cfg.compute.engine == Engine.DASK:
            getattr(importlib.import_module(f"{PACKAGE}.{self.dask_module}"), self.function)(cfg)
            return
        module = importlib.import_module(f"{PACKAGE}.{self.module}")
        runner = getattr(module, self.function)
        runner(operator.attrgetter(self.section)(cfg) if self.section else cfg)


STAGES = {
    "ingest": Stage(
        "data.ingest", "run_ingest", "produce the raw table (data/raw/) from the configured source", "data.ingest"
    ),
    "prepare": Stage(
        "data.prepare", "run_prepare", "validate the raw table against the schema and split it (data/prepared/)"
    ),
    "train": Stage(
        "modeling.train", "run_train", "fit the preprocessing + model Pipeline and save it with skops (models/)"
    ),
    "evaluate": Stage(
        "evaluation.evaluate",
        "run_evaluate",
        "score the model on the test set: metrics, plots, slices, model card, monitoring reference",
    ),
}


def register(commands: argparse._SubParsersAction) -> None:
    """Add the stages' subcommands and `params`."""
    for name, stage in STAGES.items():
        command = commands.add_parser(name, help=stage.help, description=stage.help)
        add_params_argument(command)
        command.set_defaults(handler=lambda args, stage=stage: stage.run(load_params(args.params)))
    compose = commands.add_parser(
        "params",
        help="compose conf/ into params.yaml, as `dvc exp run` does, and check all of it",
        description="compose conf/ into params.yaml, and check every key against the schema",
    )
    compose.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model=random_forest model.max_depth=8")
    checks = compose.add_mutually_exclusive_group()
    checks.add_argument(
        "--check", action="store_true", help="only check that params.yaml is valid and equals the composition"
    )
    checks.add_argument(
        "--validate",
        action="store_true",
        help="only check params.yaml against the schema, every key (CI: it may hold `-S` overrides)",
    )
    compose.set_defaults(handler=_compose)


def _compose(args: argparse.Namespace) -> None:
    if args.validate:
        load_params()
        print(f"params: {paths.PARAMS_FILE} is valid")
        return
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
