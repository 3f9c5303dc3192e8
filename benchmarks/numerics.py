"""Benchmark: what the pinned numerical environment costs, and which models it holds for.

Part 1, cost: for each size it clones the project from HEAD, runs ingest and
prepare once, then times `lockstep train` and `lockstep evaluate` for each model,
pinned (the default) and with LOCKSTEP_NUMERICS=native, alternating the two.
Each run starts from the machine's defaults (no steering variable) and the
command pins itself or not; the model card each evaluate writes must name the
mode it was timed in, and every pinned train must write the same model.

Part 2, coverage (`--matrix`): every model in conf/model/ on its data (the
synthetic table, and the bring-your-own wine table as a multiclass and a
regression task) is trained and evaluated on each simulated machine of
tests/cpu_matrix.py, pinned and native, and the outputs that differ from this
CPU's are listed.

    python benchmarks/numerics.py [--sizes 20000 1000000] [--models logistic_regression hist_gradient_boosting]
    python benchmarks/numerics.py --matrix
    python benchmarks/numerics.py --smoke   # 2,000 rows, logistic regression: checks it runs and what it compares
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _env import BIN, REPO_ROOT, clone, command_env, header, load, pinned

from lockstep.numerics import SWITCH

sys.path.insert(0, str(REPO_ROOT))  # tests/ is imported from the repository's root

from tests.cpu_matrix import MACHINES, STEERING, differing, run_matrix

COMMAND = str(BIN / "lockstep")
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


def run(args: list[str], cwd: Path, **extra: str) -> float:
    """Run a command to completion from the machine's defaults (no steering variable); its wall time in seconds."""
    env = {key: value for key, value in command_env(cwd).items() if not key.startswith(STEERING)} | extra
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def prepared_clone(destination: Path, overrides: list[str]) -> Path:
    """A clone of HEAD with params for `overrides`, ingested and prepared (pinned)."""
    clone(destination)
    run([COMMAND, "params", *overrides], destination)
    run([COMMAND, "ingest"], destination)
    run([COMMAND, "prepare"], destination)
    return destination


def timed(stage: str, project: Path, mode: str, pinned_models: set[bytes]) -> float:
    """One run of `stage` in `mode`, checked: a card names its mode, and every pinned model is the same."""
    seconds = run([COMMAND, stage], project, **{SWITCH: mode})
    if stage == "evaluate":
        card = json.loads((project / "models" / "model_card.json").read_text())
        if card["numerics"]["mode"] != mode:
            raise SystemExit(f"evaluate timed as {mode} ran {card['numerics']['mode']}: not what is compared")
    elif mode == "pinned":
        pinned_models.add((project / "models" / "model.skops").read_bytes())
        if len(pinned_models) > 1:
            raise SystemExit("two pinned trainings wrote different models: the pin did not hold")
    return seconds


def measure_cost(sizes: list[int], models: list[str], repeats: int, workdir: Path) -> None:
    print(f"{'rows':>10} {'model':<24} {'stage':<9} {'pinned':>8} {'native':>8} {'ratio':>6}  load (1 min)")
    for rows in sizes:
        for model in models:
            project = prepared_clone(workdir / f"{model}-{rows}", [f"data.ingest.n_rows={rows}", f"model={model}"])
            pinned_models: set[bytes] = set()
            for stage in ("train", "evaluate"):
                pinned, native = [], []
                for _ in range(repeats):  # alternate, so drift in the machine's load hits both alike
                    native.append(timed(stage, project, "native", pinned_models))
                    pinned.append(timed(stage, project, "pinned", pinned_models))  # last: evaluate reads its model
                p, n = statistics.median(pinned), statistics.median(native)
                print(
                    f"{rows:>10,} {model:<24} {stage:<9} {p:>7.1f}s {n:>7.1f}s {p / n:>5.2f}x  {os.getloadavg()[0]:>12.2f}",
                    flush=True,
                )


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
    parser.add_argument("--smoke", action="store_true", help="2,000 rows, logistic regression, one run each")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.models, args.repeats = [2_000], ["logistic_regression"], 1
    header("numerics")
    with tempfile.TemporaryDirectory(prefix="lockstep-numerics-") as tmp:
        if args.matrix:
            check_coverage(Path(tmp))
        else:
            measure_cost(args.sizes, args.models, args.repeats, Path(tmp))
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
