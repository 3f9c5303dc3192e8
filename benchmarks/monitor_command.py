"""Benchmark: the whole monitor command on a day of served traffic, 1M and 10M rows (issue 21).

The model: trained in this process as `dvc repro` trains it (params.yaml, the embedded synthetic data), its
monitoring reference fitted as evaluate fits it, written to reference.json. The log: one UTC day of fresh rows
of the same generator, scored by that model, written as the server writes it (`prediction_log.py`'s layout:
hour folders, closed segments of at most 64 MiB, 10-row requests), with the true outcome of --labelled of the
ids in the feedback stream. So a window holds the day, read segment by segment.

Side by side, per size:
- decode only: every line of the log decoded into its record (msgspec, the one log reader), nothing else:
  the floor any monitor reading this log pays;
- the project's `monitor --logs <log> --reference reference.json --out <dir>`, as a user runs it (a fresh process:
  imports, reading, every check, the label-free estimate, the report and its plots): wall time, and the
  process's peak resident memory (its VmHWM, read every 20 ms).

Goals (issue 21): at most 10 s for 1M rows on 2 cores; peak memory flat from 1M to 10M rows. The SciPy-loop
comparison of the per-column scores is benchmarks/monitor.py's (a).

    python benchmarks/monitor_command.py [--sizes 1000000 10000000] [--labelled 0.02] [--repeats 3] [--workdir DIR]
    python benchmarks/monitor_command.py --smoke   # 20,000 rows, once: checks that it runs
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np
from _env import BIN, REPO_ROOT, command_env, header, load, pinned

from lockstep import PACKAGE

DAY_START = 1_796_083_200.0  # 2026-12-01T00:00:00Z
REQUEST_ROWS = 10
GENERATE_ROWS = 100_000  # rows generated and scored at a time


def fitted_model(workdir: Path) -> tuple[object, object, Path]:
    """The default model and its contract, trained here; its monitoring reference written to workdir."""
    from lockstep.config import load_params
    from lockstep.contract.model_contract import build_contract
    from lockstep.data.prepare import prepare_data
    from lockstep.data.synthetic import generate_credit_data
    from lockstep.evaluation.metrics import predict
    from lockstep.evaluation.reference import fit_monitoring_reference
    from lockstep.modeling.train import train_model

    cfg = load_params(REPO_ROOT / "params.yaml")
    prepared = prepare_data(generate_credit_data(cfg.data.ingest.n_rows, seed=cfg.data.ingest.seed), cfg)
    model = train_model(prepared.train, prepared.features, cfg)
    contract = build_contract(prepared.features, cfg, [])
    reference = fit_monitoring_reference(prepared.train, predict(model, prepared.test, contract), contract)
    path = workdir / "reference.json"
    path.write_text(msgspec.json.encode(reference.to_dict()).decode())
    return model, contract, path


def write_log(folder: Path, rows: int, labelled: float, model: object, contract: object, seed: int) -> int:
    """A day of `rows` served rows in `folder`, as the server lays it out; returns the log's bytes."""
    from lockstep.contract import prediction_log as log
    from lockstep.data.synthetic import generate_credit_data
    from lockstep.modeling.predict import predict_columns
    from lockstep.serving.prediction_log import SEGMENT_BYTES

    encoder, rng = msgspec.json.Encoder(), np.random.default_rng(seed)
    spacing, written, segments = 86_400 / rows, 0, 0
    for first_row in range(0, rows, GENERATE_ROWS):
        n = min(GENERATE_ROWS, rows - first_row)
        frame = generate_credit_data(n, seed + first_row)
        truth = frame.pop("default").to_numpy()
        ids = [f"r{first_row + i}" for i in range(n)]
        outputs = predict_columns(model, frame, contract)
        inputs = frame.astype(object).where(frame.notna(), None).to_dict("records")
        by_hour: dict[str, list[bytes]] = {}
        for first in range(0, n, REQUEST_ROWS):
            part, when = slice(first, first + REQUEST_ROWS), DAY_START + (first_row + first) * spacing
            record = log.PredictionRecord(
                request_id=f"q{first_row + first}",
                time=when,
                model_version="v1",
                model_sha256="-",
                ids=ids[part],
                inputs=inputs[part],
                outputs={name: values[part].tolist() for name, values in outputs.items()},
                latency_ms=2.0,
            )
            by_hour.setdefault(log.hour_folder("predictions", when), []).append(encoder.encode(record))
        when = DAY_START + 86_400 + 60.0  # the outcomes arrive the next day
        by_hour[log.hour_folder("feedback", when)] = [
            encoder.encode(log.FeedbackRecord(id=ids[i], outcome=int(truth[i]), time=when))
            for i in np.flatnonzero(rng.random(n) < labelled)
        ]
        for hour, lines in by_hour.items():  # one segment per hour and chunk of rows, as a server process rolls them
            body = b"".join(line + b"\n" for line in lines)
            assert len(body) <= SEGMENT_BYTES, f"a segment of {len(body):,} bytes: lower GENERATE_ROWS"
            (folder / hour).mkdir(parents=True, exist_ok=True)
            (folder / hour / f"20261201T000000.{segments:06d}Z-1-0{log.CLOSED_SUFFIX}").write_bytes(body)
            segments, written = segments + 1, written + len(body)
    return written


def decode_only(folder: Path) -> tuple[float, int]:
    """Seconds to decode every prediction and feedback line into its record, and the rows."""
    from lockstep.contract.prediction_log import read_feedback, read_predictions

    started = time.perf_counter()
    rows = sum(len(record.ids) for record in read_predictions(folder))
    sum(1 for _ in read_feedback(folder))
    return time.perf_counter() - started, rows


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident memory so far (VmHWM), or None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) / 1024 if line else None


def run_command(folder: Path, reference: Path, out: Path) -> tuple[float, float, str]:
    """The monitor command in a fresh process: wall seconds, peak resident MiB, and its last output line.

    The peak is the process's own VmHWM, read every 20 ms until it exits: a peak is never lowered, and exec
    starts it afresh. (os.wait4's ru_maxrss would count this benchmark's own memory, shared at the fork.)
    """
    command = [str(BIN / PACKAGE), "monitor", "--logs", str(folder), "--reference", str(reference)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--out", str(out)], env=command_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, peak_rss_mib(process.pid) or 0.0)
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    output = process.stdout.read().decode().strip() if process.stdout else ""
    if process.returncode not in (0, 6):  # 6: an alert fired, which is an answer too
        raise SystemExit(f"{PACKAGE} monitor failed:\n{output}")
    return seconds, peak, output.splitlines()[-1] if output else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--labelled", type=float, default=0.02, help="share of ids with an outcome in the feedback log")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of the command per size up to 1M rows (the median); larger: one"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="keep the logs here (default: a temporary folder, removed)")
    parser.add_argument("--smoke", action="store_true", help="20,000 rows, once")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.repeats = [20_000], 1
    header("monitor_command")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="monitor-command-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        model, contract, reference = fitted_model(workdir)
        print(f"{'rows':>12} {'log MiB':>8} {'decode only':>12} {'monitor command':>17} {'peak RSS':>10}  runs")
        results = {}
        for rows in args.sizes:
            folder = workdir / f"log-{rows}"
            shutil.rmtree(folder, ignore_errors=True)
            started = time.perf_counter()
            size = write_log(folder, rows, args.labelled, model, contract, args.seed)
            print(f"  (log of {rows:,} rows written in {time.perf_counter() - started:.0f} s; {load()})", flush=True)
            decoded, counted = decode_only(folder)
            assert counted == rows, (counted, rows)
            repeats = args.repeats if rows <= 1_000_000 else 1
            runs = [run_command(folder, reference, workdir / f"out-{rows}") for _ in range(repeats)]
            seconds = statistics.median(run[0] for run in runs)
            peak = max(run[1] for run in runs)
            results[rows] = (seconds, peak)
            times = ", ".join(f"{run[0]:.2f}" for run in runs)
            print(f"{rows:>12,} {size / 2**20:>8,.0f} {decoded:>10.2f} s {seconds:>15.2f} s {peak:>6,.0f} MiB  {times}")
            print(f"  {runs[-1][2]}", flush=True)
            if args.workdir is None:
                shutil.rmtree(folder)
        if 1_000_000 in results:
            met = "met" if results[1_000_000][0] <= 10 else "NOT met"
            print(f"1M rows in at most 10 s: {met} ({results[1_000_000][0]:.2f} s)")
        if 1_000_000 in results and 10_000_000 in results:
            ratio = results[10_000_000][1] / results[1_000_000][1]
            print(
                f"peak memory, 10M rows / 1M rows: {ratio:.2f}x ({results[1_000_000][1]:,.0f} -> {results[10_000_000][1]:,.0f} MiB)"
            )
        print(f"at the end: {load()}", flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    pinned()
    main()
