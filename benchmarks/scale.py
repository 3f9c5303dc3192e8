"""Benchmark: the pipeline on Dask (compute=dask), 1M to 100M rows, against the local path, and its bytes.

Each run clones HEAD, sets the size and the cluster (conf/cluster.yaml), and
times `dvc repro` end to end with the synthetic generator. A sampler reads every
process's peak resident memory (VmHWM) twice a second: the Dask workers, the
stage processes (the driver) and DVC are reported apart. Then:

1. Scale: compute=dask with 2 workers at each size, and the exponent of time from
   the second size to the third (goal: at most 1.05), the workers' peak (goal: under 4 GB).
2. Side by side at the matrix size: compute=local, and compute=dask with 1 and 2 workers.
3. Bit for bit at the matrix size: dvc.lock for 1, 2, 4 workers and 1, 4, 16, 64 partitions per block.

    python benchmarks/scale.py [--sizes 1000000 10000000 100000000] [--matrix-rows 10000000] [--skip-matrix]
                               [--skip-scale] [--skip-side-by-side] [--matrix-only 2x64 4x1 ...]
    python benchmarks/scale.py --smoke   # 20,000 rows: checks it runs and that the locks agree
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from _env import REPO_ROOT, clone, command_env, header, load, pinned

from lockstep import PACKAGE

COMMIT = subprocess.run(
    ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
).stdout.strip()
WORKER_MARK = "spawn_main"  # a LocalCluster's worker processes are multiprocessing spawns
GB = 1e9


@dataclass
class Run:
    """One `dvc repro`: its wall time, the peaks of its processes, and the dvc.lock it wrote."""

    seconds: float
    worker_peak: float
    driver_peak: float
    lock: str
    peaks: dict[str, float] = field(default_factory=dict)


class PeakSampler(threading.Thread):
    """Twice a second, every descendant's peak resident memory (VmHWM), by kind."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.done, self.peaks = root, threading.Event(), {}

    def run(self) -> None:
        while not self.done.wait(0.5):
            for pid, kind in self._descendants():
                peak = _hwm(pid)
                if peak is not None:
                    self.peaks[pid] = (kind, max(peak, self.peaks.get(pid, (kind, 0.0))[1]))

    def _descendants(self) -> list[tuple[int, str]]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        found, queue = [(self.root, "dvc")], [self.root]
        while queue:
            pid = queue.pop()
            for child in children.get(pid, []):
                queue.append(child)
                found.append((child, _kind(child)))
        return found

    def peak(self, kind: str) -> float:
        return max((peak for k, peak in self.peaks.values() if k == kind), default=0.0)


def _hwm(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / GB
    except OSError:
        return None
    return None


def _kind(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if WORKER_MARK in command:
        return "worker"
    if f"bin/{PACKAGE} " in command or f"-m {PACKAGE}" in command:
        return "driver"
    return "dvc" if "dvc" in command else "other"


def project(workdir: Path, name: str, rows: int, engine: str, workers: int = 2, per_block: int = 1) -> Path:
    """A clone of the commit the benchmark started at (COMMIT), with `rows` synthetic rows on `engine`,
    `workers` workers and `per_block` partitions a block. A commit made while it runs changes no run."""
    root = clone(workdir / name)
    subprocess.run(["git", "checkout", "-q", COMMIT], cwd=root, check=True)
    subprocess.run(
        [PACKAGE, "params", f"compute={engine}", f"data.ingest.n_rows={rows}"],
        cwd=root,
        env=command_env(root),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    cluster = root / "conf" / "cluster.yaml"
    settings = yaml.safe_load(cluster.read_text())
    block_rows = yaml.safe_load((root / "params.yaml").read_text())["compute"]["block_rows"]
    settings.update(n_workers=workers, partition_rows=-(-min(block_rows, rows) // per_block))
    cluster.write_text(yaml.safe_dump(settings))
    return root


def reproduce(root: Path) -> Run:
    """`dvc repro` in `root`, timed and sampled."""
    started = time.perf_counter()
    process = subprocess.Popen(
        ["dvc", "repro"], cwd=root, env=command_env(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    sampler = PeakSampler(process.pid)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"dvc repro failed in {root}:\n{output.decode()[-3000:]}")
    lock = (root / "dvc.lock").read_text()
    peaks = {kind: sampler.peak(kind) for kind in ("worker", "driver", "dvc")}
    return Run(seconds, peaks["worker"], peaks["driver"], lock, peaks)


def scale(sizes: list[int], workdir: Path) -> None:
    print(
        f"\n{'rows':>12} {'dask, 2 workers':>16} {'worker peak':>12} {'driver peak':>12} {'DVC peak':>9}  load (1 min)"
    )
    times = {}
    for rows in sizes:
        run = reproduce(project(workdir, f"scale-{rows}", rows, "dask"))
        times[rows] = run.seconds
        print(
            f"{rows:>12,} {run.seconds:>15.1f}s {run.worker_peak:>10.2f}GB {run.driver_peak:>10.2f}GB"
            f" {run.peaks['dvc']:>7.2f}GB  {os.getloadavg()[0]:>12.2f}",
            flush=True,
        )
        subprocess.run(["rm", "-rf", str(workdir / f"scale-{rows}")], check=True)
    if len(sizes) >= 3:
        low, high = sizes[-2], sizes[-1]
        exponent = math.log(times[high] / times[low]) / math.log(high / low)
        print(f"time exponent from {low:,} to {high:,} rows: {exponent:.3f} (goal: at most 1.05)")


def matrix_only(rows: int, workdir: Path, settings: list[tuple[int, int]]) -> None:
    """dvc.lock for each (workers, partitions a block) of `settings`, against 1 worker and 1 partition a block."""
    runs = {(1, 1): reproduce(project(workdir, "dask-1-1", rows, "dask", 1))}
    for workers, per_block in settings:
        runs[workers, per_block] = reproduce(
            project(workdir, f"dask-{workers}-{per_block}", rows, "dask", workers, per_block)
        )
    report_matrix(rows, runs)


def report_matrix(rows: int, runs: dict[tuple[int, int], Run]) -> None:
    """The matrix's table; exits non-zero if any dvc.lock differs from 1 worker and 1 partition a block's."""
    first = runs[1, 1].lock
    print(f"\ndvc.lock at {rows:,} rows, against 1 worker and 1 partition a block:")
    print(f"{'workers':>8} {'partitions a block':>19} {'time':>8} {'worker peak':>12}  dvc.lock")
    for (workers, per_block), run in sorted(runs.items()):
        same = "same" if run.lock == first else "DIFFERENT"
        print(f"{workers:>8} {per_block:>19} {run.seconds:>7.1f}s {run.worker_peak:>10.2f}GB  {same}", flush=True)
    if any(run.lock != first for run in runs.values()):
        raise SystemExit("dvc.lock differs between worker or partition counts")


def side_by_side_and_matrix(rows: int, workdir: Path, matrix: bool) -> None:
    print(f"\nat {rows:,} rows: {'engine':>22} {'time':>8} {'worker peak':>12} {'driver peak':>12}")
    runs: dict[tuple[int, int], Run] = {}
    local = reproduce(project(workdir, "local", rows, "local"))
    print(f"{'':>14}{'local':>24} {local.seconds:>7.1f}s {'-':>12} {local.driver_peak:>10.2f}GB", flush=True)
    for workers in (1, 2):
        runs[workers, 1] = run = reproduce(project(workdir, f"dask-{workers}-1", rows, "dask", workers))
        name = f"dask, {workers} worker{'s' if workers > 1 else ''}"
        print(
            f"{'':>14}{name:>24} {run.seconds:>7.1f}s {run.worker_peak:>10.2f}GB {run.driver_peak:>10.2f}GB",
            flush=True,
        )
    print(f"{'':>14}dask / local with 2 workers: {runs[2, 1].seconds / local.seconds:.2f}x (goal: at most 1.2x)")
    if not matrix:
        return
    settings = [(4, 1), (2, 4), (2, 16), (2, 64)]
    for workers, per_block in settings:
        runs[workers, per_block] = reproduce(
            project(workdir, f"dask-{workers}-{per_block}", rows, "dask", workers, per_block)
        )
    report_matrix(rows, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 100_000_000])
    parser.add_argument("--matrix-rows", type=int, default=10_000_000, help="rows of the side by side and the matrix")
    parser.add_argument("--skip-scale", action="store_true", help="only the side by side and the matrix")
    parser.add_argument("--skip-matrix", action="store_true", help="no bit-for-bit matrix")
    parser.add_argument("--skip-side-by-side", action="store_true", help="only the scale runs")
    parser.add_argument(
        "--matrix-only",
        nargs="+",
        metavar="WORKERSxPARTITIONS",
        help="only these matrix settings (e.g. 2x64) against 1x1, at --matrix-rows",
    )
    parser.add_argument("--smoke", action="store_true", help="20,000 rows, the matrix included")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.matrix_rows = [20_000], 20_000
    header("scale")
    with tempfile.TemporaryDirectory(prefix=f"{PACKAGE}-bench-") as tmp:
        if args.matrix_only:
            settings = [(int(w), int(p)) for w, p in (setting.split("x") for setting in args.matrix_only)]
            matrix_only(args.matrix_rows, Path(tmp), settings)
            print(f"at the end: {load()}")
            return
        if not args.skip_scale:
            scale(args.sizes, Path(tmp))
        if not args.skip_side_by_side:
            side_by_side_and_matrix(args.matrix_rows, Path(tmp), not args.skip_matrix)
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
