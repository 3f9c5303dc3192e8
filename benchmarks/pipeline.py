"""Benchmark: what DVC costs on top of the work, and what a no-op costs.

For each size it clones the project twice from HEAD, then runs the whole
pipeline once with `dvc repro` (a process per stage, plus DVC's hashing and
bookkeeping) and once as one Python process calling the four stage functions
(the same work on the same data, with no DVC). It checks that both produced
the same model and metrics, then times a no-op `dvc repro` against
`dvc status` on the reproduced clone. Last, for the first size, it splits
each stage's time into imports and work.

Both sides run in the pinned numerical environment (numerics.pin_process):
each `lockstep` stage pins itself, and so does the single process.

    python benchmarks/pipeline.py [--sizes 20000 1000000] [--repeats 3]
    python benchmarks/pipeline.py --smoke   # 2,000 rows, no breakdown: checks it runs and compares the same work
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _env import clone, command_env, header, load, pinned

# The stages' work in one process, which pins itself as `lockstep <stage>` does.
IN_PROCESS = """
from lockstep import numerics
numerics.pin_process()
from lockstep.config import load_params
from lockstep.data.ingest import run_ingest
from lockstep.data.prepare import run_prepare
from lockstep.modeling.train import run_train
from lockstep.evaluation.evaluate import run_evaluate
cfg = load_params()
run_ingest(cfg.data.ingest)
run_prepare(cfg)
run_train(cfg)
run_evaluate(cfg)
"""
STAGE_IMPORTS = {
    "ingest": "lockstep.data.ingest, lockstep.data.synthetic",
    "prepare": "lockstep.data.prepare, pandera.pandas",
    "train": "lockstep.modeling.train, lockstep.modeling.persistence, skops.io",
    "evaluate": "lockstep.evaluation.evaluate, lockstep.modeling.persistence, skops.io, dvclive",
}
COMPARED = ("models/model.skops", "metrics/metrics.json", "data/prepared/train.parquet")


def run(args: list[str], cwd: Path) -> float:
    """Run a command to completion and return its wall time in seconds."""
    env = command_env(cwd)
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def project(destination: Path, rows: int) -> Path:
    """A clone of HEAD that generates `rows` rows."""
    run(["lockstep", "params", f"data.ingest.n_rows={rows}"], clone(destination))
    return destination


def measure_size(rows: int, repeats: int, workdir: Path) -> dict[str, float]:
    via_dvc = project(workdir / f"dvc-{rows}", rows)
    in_process = project(workdir / f"python-{rows}", rows)
    figures = {"dvc_repro": run(["dvc", "repro"], via_dvc)}
    figures["one_process"] = run([sys.executable, "-c", IN_PROCESS], in_process)
    for name in COMPARED:
        if (via_dvc / name).read_bytes() != (in_process / name).read_bytes():
            raise SystemExit(f"{name} differs between dvc repro and the single process: not the same work")
    figures["noop_repro"] = statistics.median(run(["dvc", "repro"], via_dvc) for _ in range(repeats))
    figures["status"] = statistics.median(run(["dvc", "status"], via_dvc) for _ in range(repeats))
    return figures


def where_the_time_goes(project: Path) -> None:
    """Each stage's wall time as a process, and how much of it is imports."""
    print(f"\n{'stage':>10} {'process':>9} {'imports':>9} {'work':>8}")
    for stage, modules in STAGE_IMPORTS.items():
        total = run(["lockstep", stage], project)
        imports = run([sys.executable, "-c", f"import {modules}"], project)
        print(f"{stage:>10} {total:>8.2f}s {imports:>8.2f}s {total - imports:>7.2f}s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000], help="rows to generate")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each no-op command (median)")
    parser.add_argument("--smoke", action="store_true", help="2,000 rows, one repeat, no breakdown")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.repeats = [2_000], 1
    header("pipeline")
    print(
        f"{'rows':>10} {'dvc repro':>10} {'1 process':>10} {'ratio':>6} {'no-op repro':>12} {'dvc status':>11} {'ratio':>6}"
        "  load (1 min)"
    )
    with tempfile.TemporaryDirectory(prefix="lockstep-bench-") as tmp:
        for rows in args.sizes:
            f = measure_size(rows, args.repeats, Path(tmp))
            print(
                f"{rows:>10,} {f['dvc_repro']:>9.1f}s {f['one_process']:>9.1f}s {f['dvc_repro'] / f['one_process']:>5.2f}x"
                f" {f['noop_repro']:>11.2f}s {f['status']:>10.2f}s {f['noop_repro'] / f['status']:>5.2f}x"
                f"  {os.getloadavg()[0]:>12.2f}",
                flush=True,
            )
        if not args.smoke:
            where_the_time_goes(Path(tmp) / f"dvc-{args.sizes[0]}")
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
