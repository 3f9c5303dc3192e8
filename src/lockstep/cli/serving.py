"""`serve` (online, over HTTP) and `predict` (batch scoring of files)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import paths
from ..errors import PipelineError
from .common import positive


def register(commands: argparse._SubParsersAction) -> None:
    """Add `predict` and `serve`."""
    predict = commands.add_parser(
        "predict", help="score a CSV or Parquet file (or a folder of them) with a model version, in record batches"
    )
    predict.add_argument("--model", required=True, help="a bundle folder, a version (v0.3.0), a stage or `workspace`")
    predict.add_argument("--input", type=Path, required=True, help="a .csv or .parquet file, or a folder of them")
    predict.add_argument("--output", type=Path, required=True, help="the scores (.parquet or .csv)")
    predict.add_argument("--rejects", type=Path, help="refused rows and why (default: <output>.rejects.<suffix>)")
    predict.add_argument("--batch-rows", type=positive, default=65_536, help="rows per record batch (default: 65536)")
    predict.set_defaults(handler=_predict)

    serve = commands.add_parser("serve", help="serve a model version over HTTP (POST /v1/predict, OIP v2, /metrics)")
    serve.add_argument(
        "--model",
        help="prod: a bundle folder, a version (v0.3.0), a stage or `workspace`; alone, it is served by itself "
        "(default: the `prod` stage, with the rollout of params.yaml); SIGHUP re-reads a stage, not a version",
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
        default=paths.PREDICTION_LOG,
        help="the log of every prediction: its folder keeps the segments of it, of the shadow's and of the feedback "
        f"(default: {paths.PREDICTION_LOG})",
    )
    serve.add_argument(
        "--log-upload",
        metavar="DEST",
        help="ship the logs' closed segments to s3://bucket/prefix, a folder, or `remote` (the DVC default remote, "
        "under prediction-logs/); each is deleted from the log folder once stored (default: keep them there)",
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> None:
    from ..serving.server import build_server

    build_server(args.model, args.host, args.port, args.prediction_log, args.rollout, args.log_upload).run()


def _predict(args: argparse.Namespace) -> None:
    from ..registry.store import load_version

    try:
        from ..serving.batch import score_files
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
