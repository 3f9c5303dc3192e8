"""The project's command-line tool: one subcommand per pipeline stage, plus the tools around it.

Each subcommand reads params.yaml, calls the stage's function and exits; the
stages in dvc.yaml call these. Heavy libraries are imported only by the
subcommand that needs them, so `--help` stays instant. The command is named
after the package (see `[project.scripts]` in pyproject.toml).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__, numerics, paths
from .config import Config, compose_params, load_params
from .errors import PipelineError

# The console script has the package's name (pyproject.toml [project.scripts]).
PROG = __package__ or "cli"


def _ingest(cfg: Config) -> None:
    from .data.ingest import run_ingest

    run_ingest(cfg.data.ingest)


def _prepare(cfg: Config) -> None:
    from .data.prepare import run_prepare

    run_prepare(cfg)


def _train(cfg: Config) -> None:
    from .modeling.train import run_train

    run_train(cfg)


def _evaluate(cfg: Config) -> None:
    from .evaluation.evaluate import run_evaluate

    run_evaluate(cfg)


STAGES: dict[str, tuple[Callable[[Config], None], str]] = {
    "ingest": (_ingest, "produce the raw table (data/raw/) from the configured source"),
    "prepare": (_prepare, "validate the raw table against the schema and split it (data/prepared/)"),
    "train": (_train, "fit the preprocessing + model Pipeline and save it with skops (models/)"),
    "evaluate": (_evaluate, "score the model on the test set: metrics, plots, slices, model card (metrics/)"),
}


def _positive(text: str) -> int:
    """An argparse type: a positive integer."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
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
            review.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports/)")
        else:
            review.add_argument(
                "--verdict",
                type=Path,
                help="enforce the verdict `report` wrote (CI: reports/verdict.json) instead of judging again",
            )
    registry = commands.add_parser("registry", help="version and stage the model with GTO tags")
    actions = registry.add_subparsers(dest="action", required=True, metavar="ACTION")
    register = actions.add_parser(
        "register",
        help="register HEAD's model as a new version if its bytes changed (idempotent); "
        "refuses unless the reproduced outputs are HEAD's and the DVC remote holds them",
    )
    register.add_argument("--stage", help="also assign this stage to the version (idempotent)")
    register.add_argument("--output", type=Path, help="append `version=<version>` to this file (GITHUB_OUTPUT)")
    assign = actions.add_parser("assign", help="assign a stage to a registered version (idempotent)")
    assign.add_argument("--version", required=True, help="a registered version, e.g. v0.2.0")
    assign.add_argument("--stage", required=True, help="the stage, e.g. staging or prod")
    which = actions.add_parser("which", help="print the version in a stage")
    which.add_argument("--stage", required=True)
    sharing = commands.add_parser(
        "run-cache", help="push or pull the run-cache's Git-tracked outputs (after dvc push/pull)"
    )
    sharing.add_argument("direction", choices=["push", "pull"])
    sharing.add_argument("--remote", "-r", help="DVC remote (default: the default remote)")
    bundle = commands.add_parser("bundle", help="package the checked-out model and card for deployment, verified")
    bundle.add_argument("--out", type=Path, required=True, help="folder to write the bundle into")
    bundle.add_argument("--version", required=True, help="the registered version being deployed")
    bundle.add_argument("--stage", required=True, help="the stage it is deployed to")
    predict = commands.add_parser(
        "predict", help="score a CSV or Parquet file (or a folder of them) with a model version, in record batches"
    )
    predict.add_argument("--model", required=True, help="a bundle folder, a version (v0.3.0), a stage or `workspace`")
    predict.add_argument("--input", type=Path, required=True, help="a .csv or .parquet file, or a folder of them")
    predict.add_argument("--output", type=Path, required=True, help="the scores (.parquet or .csv)")
    predict.add_argument("--rejects", type=Path, help="refused rows and why (default: <output>.rejects.<suffix>)")
    predict.add_argument("--batch-rows", type=_positive, default=65_536, help="rows per record batch (default: 65536)")
    serve = commands.add_parser("serve", help="serve a model version over HTTP (POST /v1/predict, OIP v2, /metrics)")
    serve.add_argument(
        "--model",
        help="prod: a bundle folder, a version (v0.3.0), a stage or `workspace`; alone, it is served by itself "
        "(default: the `prod` stage, with the rollout of params.yaml)",
    )
    serve.add_argument(
        "--rollout",
        type=Path,
        help="a rollout file (a mapping as in conf/rollout/*.yaml) instead of params.yaml's `rollout:`",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    serve.add_argument(
        "--prediction-log",
        type=Path,
        default=Path("logs/predictions.jsonl"),
        help="rotating JSON-lines log of every prediction (default: logs/predictions.jsonl)",
    )
    _add_rollout(commands)
    return parser


def _add_rollout(commands: argparse._SubParsersAction) -> None:
    rollout = commands.add_parser("rollout", help="report on a shadow, canary or A/B rollout and act on its decision")
    actions = rollout.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="print the rollout in progress: mode, share, versions")
    status.add_argument("--params", type=Path, default=paths.PARAMS_FILE, help="params file (default: params.yaml)")
    status.add_argument("--output", type=Path, help="append mode=<mode> to this file (GITHUB_OUTPUT)")
    report = actions.add_parser(
        "report",
        help="write report.md, plots and decision.json from the prediction and feedback logs; "
        "exit 0 wait, 3 next-step, 4 promote, 5 rollback (2: an error)",
    )
    report.add_argument("--logs", type=Path, required=True, help="the folder of predictions.jsonl and feedback.jsonl")
    report.add_argument("--out", type=Path, default=Path("reports/rollout"), help="default: reports/rollout/")
    report.add_argument("--params", type=Path, default=paths.PARAMS_FILE, help="params file (default: params.yaml)")
    report.add_argument("--output", type=Path, help="append decision=, stage=, version= to this file (GITHUB_OUTPUT)")
    apply = actions.add_parser(
        "apply", help="act on decision.json: a commit (next-step) or GTO tags (promote, rollback); wait does nothing"
    )
    apply.add_argument("--decision", type=Path, default=Path("reports/rollout/decision.json"))
    apply.add_argument(
        "--expect",
        choices=["wait", "next-step", "promote", "rollback"],
        help="refuse unless the decision is this one (what the approved run saw)",
    )
    export = commands.add_parser(
        "export", help="write the rollout as KServe or Seldon Core 2 manifests, with the versions in GTO's stages"
    )
    export.add_argument("--target", choices=["kserve", "seldon"], required=True)
    export.add_argument("--out", type=Path, required=True, help="the YAML file to write")
    export.add_argument("--name", default="model", help="the InferenceService or Experiment name (default: model)")
    export.add_argument(
        "--image",
        default=f"localhost/{PROG}-model:" + "{version}",  # no doubled braces: Copier would read them
        help="KServe: the serving image; {version} is replaced",
    )
    export.add_argument("--storage-uri", help="Seldon: where each version's model is; {version} is replaced")
    export.add_argument("--params", type=Path, default=paths.PARAMS_FILE, help="params file (default: params.yaml)")


def _rollout(args: argparse.Namespace) -> int:
    from .rollout import commands

    if args.action == "status":
        print(f"rollout: {commands.run_status(args.params, args.output)}")
        return 0
    if args.action == "report":
        return commands.run_report(args.logs, args.out, args.params, args.output)
    print(f"rollout: {commands.run_apply(args.decision, args.expect)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from .rollout.commands import run_export

    kinds = run_export(args.target, args.out, args.name, args.image, args.storage_uri, args.params)
    print(f"export: {args.out} ({', '.join(kinds)} for {args.target})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .serving.server import build_server

    build_server(args.model, args.host, args.port, args.prediction_log, args.rollout).run()
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .store import load_version

    try:
        from .serving.batch import score_files
    except ModuleNotFoundError as exc:  # the serving image leaves pyarrow out (pyproject.toml, group `serve`)
        if exc.name != "pyarrow":
            raise
        raise PipelineError(
            "batch scoring needs pyarrow, which the serving image leaves out: score files in the project's"
            " environment (`make batch-predict`)"
        ) from None

    if args.output.suffix not in (".parquet", ".csv"):
        raise PipelineError(f"--output {args.output}: write .parquet or .csv")
    rejects = args.rejects or args.output.with_name(f"{args.output.stem}.rejects{args.output.suffix}")
    loaded = load_version(args.model)
    summary = score_files(args.input, loaded, args.output, rejects, args.batch_rows)
    print(
        f"predict: {summary.scored:,} of {summary.rows:,} rows scored with {loaded.version} ({loaded.sha256[:12]})"
        f" -> {args.output}; {summary.rejected:,} rejected -> {rejects}"
    )
    return 0


def _compose(args: argparse.Namespace) -> None:
    if not args.check:
        compose_params(args.overrides)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "params.yaml"
        compose_params(args.overrides, output=fresh)
        if not paths.PARAMS_FILE.is_file() or fresh.read_bytes() != paths.PARAMS_FILE.read_bytes():
            raise PipelineError("params.yaml differs from the composition of conf/: run `make params` and commit it")


def _review(args: argparse.Namespace) -> int:
    if args.command == "gate" and args.verdict:
        from .review.verdict_file import read_verdict

        recorded = read_verdict(args.verdict)
        return _print_gate(recorded["passed"], recorded["reasons"], recorded["against"])

    from .review.committed import review
    from .review.report import write_report

    comparison = review(args.base, reproduced=not args.not_reproduced)
    if args.command == "report":
        report = write_report(comparison, args.out)
        print(f"report: {report} ({'passes' if comparison.verdict.passed else 'fails'} the gate)")
        return 0
    return _print_gate(comparison.verdict.passed, comparison.verdict.reasons, comparison.base.label)


def _print_gate(passed: bool, reasons: list[str], against: str) -> int:
    for reason in reasons:
        print(f"gate: {reason}")
    print(f"gate: {'PASS' if passed else 'FAIL'} against {against}")
    return 0 if passed else 1


def _registry(args: argparse.Namespace) -> int:
    from . import registry

    if args.action == "register":
        from .lockfile import require_published

        require_published()
        version, created = registry.register(".")
        print(f"{registry.ARTIFACT} {version} ({'registered' if created else 'unchanged: already registered'})")
        if args.output:
            with args.output.open("a", encoding="utf-8") as output:
                output.write(f"version={version}\n")
        if args.stage:
            assigned = registry.assign(".", version, args.stage)
            print(f"{registry.ARTIFACT} {version} -> {args.stage} ({'assigned' if assigned else 'already assigned'})")
    elif args.action == "assign":
        assigned = registry.assign(".", args.version, args.stage)
        print(f"{registry.ARTIFACT} {args.version} -> {args.stage} ({'assigned' if assigned else 'already assigned'})")
    else:
        version = registry.stage_version(".", args.stage)
        if version is None:
            raise PipelineError(f"no version of {registry.ARTIFACT} is in stage {args.stage!r}")
        print(version)
    return 0


def _run_cache(args: argparse.Namespace) -> int:
    from dvc.repo import Repo

    from . import runcache

    moved = getattr(runcache, args.direction)(Repo("."), remote=args.remote)
    print(f"run-cache: {moved} Git-tracked output object(s) {'pushed' if args.direction == 'push' else 'pulled'}")
    return 0


def _bundle(args: argparse.Namespace) -> int:
    from .deploy import write_bundle

    # The model's libraries are those its contract records: the version's own training config, not today's.
    manifest = write_bundle(args.out, args.version, args.stage)
    print(f"bundle: {args.out} ({manifest['model']['sha256'][:12]}, {args.version} -> {args.stage})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    try:
        if args.command in ("report", "gate"):
            return _review(args)
        if args.command == "registry":
            return _registry(args)
        if args.command == "bundle":
            return _bundle(args)
        if args.command == "predict":
            return _predict(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "run-cache":
            return _run_cache(args)
        if args.command == "rollout":
            return _rollout(args)
        if args.command == "export":
            return _export(args)
        if args.command == "params":
            _compose(args)
        else:
            STAGES[args.command][0](load_params(args.params))
    except PipelineError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder: outputs are atomic, so nothing is half-written
        print(f"{PROG} {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    return 0


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


def run() -> None:
    """The console script: pin the numerical environment (see numerics.py), then run the command."""
    numerics.pin_process()
    sys.exit(main())


if __name__ == "__main__":
    run()
