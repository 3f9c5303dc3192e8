"""Benchmark: what routing and a shadow cost a server, and each rollout mode's throughput.

Two bundles of different models (the default model trained on two synthetic
samples of different sizes) play `prod` and the candidate. Each mode runs as
`lockstep serve` in its own process pinned to CPU 0, driven by
benchmarks/serving.py's load generator pinned to CPU 1 (single-record
requests, each with its own `loan_id`, the sticky key). Every mode runs once
per round, in turn, for --rounds rounds, and the medians are reported: on a
shared virtual machine one run of a mode varies by tens of percent.

- routing overhead: a canary at 0% (every request hashed and routed, all to
  `prod`) against `--model` alone, p50 at 1 client (goal: under 0.1 ms extra);
  and `RoutingTable.choose` in-process, per request;
- shadow: a shadow rollout against `--model` alone, p50 and p99 at 1 and 32
  clients (goal: under 5% added). The shadow's process inherits the server's
  core; "shadow, own core" moves it to the other core after the warm-up and is
  measured at 1 client only (at 32 the load generator needs that core);
- throughput of each mode (single, canary 10%, A/B 50/50, shadow) at 32 clients.

Every process scores in the pinned numerical environment (numerics.pin_process).
Before it is driven, each mode's server must answer a few records with, to the
bit, the score that the arm it routed them to computes in this process.

    python benchmarks/rollout.py [--seconds 10] [--rounds 3] [--quick]
    python benchmarks/rollout.py --smoke   # 2,000-row models, 0.5 s per run, one round: checks that it runs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package: imported by path
from _env import header, load, pinned
from serving import (
    BIN,
    CHECKED,
    NAME,
    check_same_scores,
    drive,
    expected_scores,
    pin,
    prod_and_candidate,
    scores,
    start,
)

MODES = {
    "single (--model)": None,
    "canary 0%": "mode: canary\npercent: 0\nsticky_key: loan_id\n",
    "canary 10%": "mode: canary\npercent: 10\nsticky_key: loan_id\n",
    "ab 50/50": "mode: ab\nsplit: 50\nsticky_key: loan_id\n",
    "shadow": "mode: shadow\n",
    "shadow, own core": "mode: shadow\n",
}
OWN_CORE = "shadow, own core"  # the shadow's process moved off the server's core (to the load generator's)
# The request bodies, and each arm's in-process scores of the first CHECKED of them.
Load = tuple[list[bytes], dict[str, list[float]]]


def choose_cost(prod: Path, candidate: Path, records: list[dict], repeats: int = 20_000) -> float:
    """Microseconds per `sticky_value` + `RoutingTable.choose` (a canary at 10%), in-process."""
    from lockstep.config import parse_rollout
    from lockstep.registry.store import load_version
    from lockstep.serving.routing import RoutingTable, sticky_value

    table = RoutingTable(
        parse_rollout({"mode": "canary", "percent": 10, "sticky_key": "loan_id"}),
        load_version(str(prod)),
        load_version(str(candidate)),
    )
    started = time.perf_counter()
    for i in range(repeats):
        table.choose(sticky_value([records[i % len(records)]], "loan_id", "r"))
    return (time.perf_counter() - started) / repeats * 1e6


def warm_up(port: int, bodies: list[bytes], shadow: bool, seconds: float = 2.0, timeout: float = 60) -> None:
    """Drive one client until the server is warm: `seconds`, and for a shadow until its process has scored.

    A shadow's process starts with its first request (a forkserver that imports
    scikit-learn, on the server's core): that start is not what a running shadow costs.
    """
    import urllib.request

    deadline = time.monotonic() + timeout
    drive(port, bodies, 1, seconds)
    while shadow and time.monotonic() < deadline:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        shadow_sample = f"{NAME}_arm_requests_total" + '{arm="shadow"'
        if any(line.startswith(shadow_sample) for line in text.splitlines()):
            drive(port, bodies, 1, seconds)  # and let it settle
            return
        drive(port, bodies, 1, 0.5)
    if shadow:
        raise RuntimeError("the shadow never scored a request")


def serve_command(prod: Path, candidate: Path, rollout: str | None, folder: Path, port: int) -> list[str]:
    command = [str(BIN / NAME), "serve", "--model", str(prod), "--port", str(port)]
    command += ["--prediction-log", str(folder / f"log-{port}" / "predictions.jsonl")]
    if rollout is not None:
        path = folder / f"rollout-{port}.yaml"
        path.write_text(rollout + f"candidate: {candidate}\n")
        command += ["--rollout", str(path)]
    return command


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs (from /proc): a shadow's forkserver and process."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def run(name: str, rollout: str | None, paths: tuple[Path, Path, Path], port: int, load: Load, seconds: float):
    """One server in one mode, checked, then its figures at 1 and 32 clients (1 only for the shadow moved to CPU 1)."""
    prod, candidate, folder = paths
    bodies, expected = load
    process = start(serve_command(prod, candidate, rollout, folder, port), port)
    try:
        check_same_scores(name, scores(port, bodies[:CHECKED]), expected)
        warm_up(port, bodies, shadow=rollout is not None and "shadow" in rollout, seconds=min(2.0, seconds))
        if name == OWN_CORE:  # the shadow's processes to the load generator's core: only 1 client leaves it idle
            for child in descendants(process.pid):
                os.sched_setaffinity(child, {1})
            return {1: drive(port, bodies, 1, seconds)}
        return {clients: drive(port, bodies, clients, seconds) for clients in (1, 32)}
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="every mode this many times, in turn; medians reported")
    parser.add_argument("--quick", action="store_true", help="2 s per run, one round, small models")
    parser.add_argument("--smoke", action="store_true", help="0.5 s per run, one round, 2,000-row models")
    args = parser.parse_args()
    seconds, rows, rounds = (2.0, 4_000, 1) if args.quick else (args.seconds, 20_000, args.rounds)
    if args.smoke:
        seconds, rows, rounds = 0.5, 2_000, 1
    header("rollout")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prod, candidate, keyed = prod_and_candidate(folder, rows)
        bodies = [json.dumps(record).encode() for record in keyed]
        arms = {"prod": prod, "canary": candidate}
        expected = {arm: expected_scores(bundle, keyed[:CHECKED])["serving"] for arm, bundle in arms.items()}
        print(f"routing decision in-process: {choose_cost(prod, candidate, keyed):.2f} µs per request")
        pin(1)  # the load generator, off the servers' core
        runs: dict[str, list[dict[int, dict[str, float]]]] = {name: [] for name in MODES}
        port = 18_180
        for round_ in range(rounds):
            for name, rollout in MODES.items():
                port += 1
                runs[name].append(run(name, rollout, (prod, candidate, folder), port, (bodies, expected), seconds))
                line = "  ".join(f"{c:2} clients: {_short(r)}" for c, r in runs[name][-1].items())
                print(f"round {round_ + 1} {name:20} {line}", flush=True)
        results = {name: _medians(figures) for name, figures in runs.items()}
        print(f"medians of {rounds} round(s):")
        for name, figures in results.items():
            print(f"{name:20} " + "  ".join(f"{c:2} clients: {_short(r)}" for c, r in figures.items()))
        single = results["single (--model)"]
        extra = 1000 * (results["canary 0%"][1]["p50_ms"] - single[1]["p50_ms"])
        print(f"routing overhead (canary 0% vs single), p50 at 1 client: {extra:+.1f} µs (goal < 100 µs)")
        for name in ("shadow", OWN_CORE):
            for clients in results[name]:
                for stat in ("p50_ms", "p99_ms"):
                    added = results[name][clients][stat] / single[clients][stat] - 1
                    print(f"{name}: added {stat[:3]} at {clients:2} clients: {100 * added:+.1f}% (goal < 5%)")
    print(f"at the end: {load()}")


def _medians(figures: list[dict[int, dict[str, float]]]) -> dict[int, dict[str, float]]:
    return {
        clients: {stat: statistics.median(run[clients][stat] for run in figures) for stat in figures[0][clients]}
        for clients in figures[0]
    }


def _short(figures: dict[str, float]) -> str:
    return f"{figures['rps']:7.1f} rps  p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms"


if __name__ == "__main__":
    pinned()
    main()
