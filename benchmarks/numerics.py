"""Benchmark: what the pinned numerical environment costs, and which models it holds for.

Part 1, cost: for each size it clones the project from HEAD, runs ingest and
prepare once, then times `lockstep train` and `lockstep evaluate` for each model,
pinned (the default) and with LOCKSTEP_NUMERICS=native, alternating the two.

Part 2, coverage (`--matrix`): every model in conf/model/ on its data (the
synthetic table, and the bring-your-own wine table as a multiclass and a
regression task) is trained and evaluated on each simulated machine of
tests/cpu_matrix.py, pinned and native, and the outputs that differ from this
CPU's are listed.

    python benchmarks/numerics.py [--sizes 20000 1000000] [--models logistic_regression hist_gradient_boosting]
    python benchmarks/numerics.py --matrix
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

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from lockstep.numerics import SWITCH  # noqa: E402

from tests.cpu_matrix import MACHINES, STEERING, differing, run_matrix  # noqa: E402

COMMAND = str(Path(sys.executable).parent / "lockstep")
NATIVE = {SWITCH: "native"}
# (data overrides, model): every model of conf/model/ on a task it fits.
COVERAGE = {
    "synthetic / logistic_regression": ([], "logistic_regression"),
    "synthetic / random_forest": ([], "random_forest"),
    "synthetic / hist_gradient_boosting": ([], "hist_gradient_boosting"),
    "wine, multiclass / logistic_regression": (["data=file"], "logistic_regression"),
    "wine, regression / ridge": (["data=file", "data.target=alcohol"], "ridge"),
    "wine, regression / hist_gradient_boosting_regressor": (
        ["data=file", "data.target=alcohol"],
        "hist_gradient_boosting_regressor",
    ),
}


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(STEERING)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env | {"DVC_NO_ANALYTICS": "1"} | extra


def run(args: list[str], cwd: Path, **extra: str) -> float:
    """Run a command to completion and return its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=environment(**extra), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def prepared_clone(destination: Path, overrides: list[str]) -> Path:
    """A clone of HEAD with params for `overrides`, ingested and prepared (pinned)."""
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(destination)], check=True)
    run([COMMAND, "params", *overrides], destination)
    run([COMMAND, "ingest"], destination)
    run([COMMAND, "prepare"], destination)
    return destination


def measure_cost(sizes: list[int], models: list[str], repeats: int, workdir: Path) -> None:
    print(f"{'rows':>10} {'model':<24} {'stage':<9} {'pinned':>8} {'native':>8} {'ratio':>6}")
    for rows in sizes:
        for model in models:
            project = prepared_clone(workdir / f"{model}-{rows}", [f"data.ingest.n_rows={rows}", f"model={model}"])
            for stage in ("train", "evaluate"):
                pinned, native = [], []
                for _ in range(repeats):  # alternate, so drift in the machine's load hits both alike
                    pinned.append(run([COMMAND, stage], project))
                    native.append(run([COMMAND, stage], project, **NATIVE))
                run([COMMAND, stage], project)  # leave the pinned model for evaluate to read
                p, n = statistics.median(pinned), statistics.median(native)
                print(f"{rows:>10,} {model:<24} {stage:<9} {p:>7.1f}s {n:>7.1f}s {p / n:>5.2f}x", flush=True)


def check_coverage(workdir: Path) -> None:
    print(f"{'data / model':<54} {'pinned: machines differing':<28} native: outputs that differ")
    for name, (overrides, model) in COVERAGE.items():
        slug = name.replace(" / ", "-").replace(", ", "-")
        project = prepared_clone(workdir / "clones" / slug, [*overrides, f"model={model}"])
        folders = {model: project}
        pinned = differing(run_matrix(folders, MACHINES, workdir / "pinned" / slug), model)
        native = differing(run_matrix(folders, MACHINES, workdir / "native" / slug, **NATIVE), model)
        pinned_count = sum(bool(paths) for paths in pinned.values())
        native_files = sorted({Path(path).name for paths in native.values() for path in paths})
        print(f"{name:<54} {pinned_count} of {len(pinned):<23} {', '.join(native_files) or 'none'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--models", nargs="+", default=["logistic_regression", "hist_gradient_boosting"])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each stage and mode (median)")
    parser.add_argument("--matrix", action="store_true", help="check every model on the simulated machines instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lockstep-numerics-") as tmp:
        if args.matrix:
            check_coverage(Path(tmp))
        else:
            measure_cost(args.sizes, args.models, args.repeats, Path(tmp))


if __name__ == "__main__":
    main()
