"""Benchmark: what routing and a shadow cost a server, and each rollout mode's throughput.

Two bundles of different models (the default model trained on two synthetic
samples of different sizes) play `prod` and the candidate. Each mode runs as
`lockstep serve` in its own process pinned to CPU 0, driven by
benchmarks/serving.py's load generator pinned to CPU 1 (single-record
requests, each with its own `loan_id`, the sticky key):

- routing overhead: a canary at 0% (every request hashed and routed, all to
  `prod`) against `--model` alone, p50 at 1 client (goal: under 0.1 ms extra);
  and `RoutingTable.choose` in-process, per request;
- shadow: a shadow rollout against `--model` alone, p50 and p99 at 1 and 32
  clients (goal: under 5% added);
- throughput of each mode (single, canary 10%, A/B 50/50, shadow) at 32 clients.

    python benchmarks/rollout.py [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import BIN, NAME, drive, make_bundle, start  # benchmarks/ is not a package: imported by path

MODES = {
    "single (--model)": None,
    "canary 0%": "mode: canary\npercent: 0\nsticky_key: loan_id\n",
    "canary 10%": "mode: canary\npercent: 10\nsticky_key: loan_id\n",
    "ab 50/50": "mode: ab\nsplit: 50\nsticky_key: loan_id\n",
    "shadow": "mode: shadow\n",
}


def choose_cost(prod: Path, candidate: Path, records: list[dict], repeats: int = 20_000) -> float:
    """Microseconds per `sticky_value` + `RoutingTable.choose` (a canary at 10%), in-process."""
    from lockstep.config import parse_rollout
    from lockstep.serving.routing import RoutingTable, sticky_value
    from lockstep.store import load_version

    table = RoutingTable(
        parse_rollout({"mode": "canary", "percent": 10, "sticky_key": "loan_id"}),
        load_version(str(prod)),
        load_version(str(candidate)),
    )
    started = time.perf_counter()
    for i in range(repeats):
        table.choose(sticky_value([records[i % len(records)]], "loan_id", "r"))
    return (time.perf_counter() - started) / repeats * 1e6


def serve_command(prod: Path, candidate: Path, rollout: str | None, folder: Path, port: int) -> list[str]:
    command = [str(BIN / NAME), "serve", "--model", str(prod), "--port", str(port)]
    command += ["--prediction-log", str(folder / f"log-{port}" / "predictions.jsonl")]
    if rollout is not None:
        path = folder / f"rollout-{port}.yaml"
        path.write_text(rollout + f"candidate: {candidate}\n")
        command += ["--rollout", str(path)]
    return command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--quick", action="store_true", help="2 s per run, small models: checks the script works")
    args = parser.parse_args()
    seconds, rows = (2.0, 4_000) if args.quick else (args.seconds, 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "prod").mkdir()
        (folder / "candidate").mkdir()
        prod, records = make_bundle(folder / "prod", rows)
        candidate, _ = make_bundle(folder / "candidate", rows // 2)
        keyed = [record | {"loan_id": f"U{i:09d}"} for i, record in enumerate(records)]
        bodies = [json.dumps(record).encode() for record in keyed]
        print(f"routing decision in-process: {choose_cost(prod, candidate, keyed):.2f} µs per request")
        results: dict[str, dict[int, dict[str, float]]] = {}
        for port, (name, rollout) in enumerate(MODES.items(), start=18_180):
            process = start(serve_command(prod, candidate, rollout, folder, port), port)
            try:
                results[name] = {clients: drive(port, bodies, clients, seconds) for clients in (1, 32)}
            finally:
                process.terminate()
                process.wait()
            print(f"{name:18} " + "  ".join(f"{c:2} clients: {r}" for c, r in results[name].items()), flush=True)
        single = results["single (--model)"]
        extra = 1000 * (results["canary 0%"][1]["p50_ms"] - single[1]["p50_ms"])
        print(f"routing overhead (canary 0% vs single), p50 at 1 client: {extra:+.1f} µs (goal < 100 µs)")
        for clients in (1, 32):
            for stat in ("p50_ms", "p99_ms"):
                added = results["shadow"][clients][stat] / single[clients][stat] - 1
                print(f"shadow's added {stat[:3]} at {clients:2} clients: {100 * added:+.1f}% (goal < 5%)")


if __name__ == "__main__":
    main()
