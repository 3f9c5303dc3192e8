"""Benchmark: how often the rollout report promotes an A/B candidate that is no better (and how often a better one).

Each simulation writes synthetic A/B logs (tests/rollout_logs.py: one request
per user, half on each arm, every outcome fed back) and runs the report's
decision on them, with the gate's defaults (ROC AUC, 95% bootstrap interval).

- null: both arms score with the same separation, so a promotion is false;
- better: the candidate's separation is larger (ROC AUC 0.92 -> 0.97);
- looks: the scheduled workflow reads the growing logs again and again, so the
  null case is also judged at --looks evenly spaced points of the same logs,
  and counted as promoted if any look promotes (peeking inflates the rate).

Every look must have read each request and outcome of its part of the logs.

    python benchmarks/rollout_ab.py [--simulations 100] [--requests 2000] [--looks 5] [--resamples 1000]
    python benchmarks/rollout_ab.py --smoke   # 2 simulations of 600 requests, 2 looks: checks that it runs
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from _env import REPO_ROOT, header, load, pinned

if TYPE_CHECKING:
    from lockstep.config import GateConfig
    from lockstep.rollout.decide import Action

sys.path.insert(0, str(REPO_ROOT))  # tests/ is imported from the repository's root


def decisions(folder: Path, requests: int, looks: int, gate: GateConfig, min_outcomes: int) -> list[Action]:
    """The decision at each of `looks` growing prefixes of the logs in `folder`, each checked to read all of it."""
    from lockstep.config import parse_rollout
    from lockstep.rollout.report import build_rollout

    settings = parse_rollout({"mode": "ab", "split": 50, "min_outcomes": min_outcomes})
    lines = (folder / "predictions.jsonl").read_bytes().splitlines(keepends=True)
    found = []
    for look in range(1, looks + 1):
        view = folder / f"look-{look}"
        view.mkdir()
        seen = requests * look // looks
        (view / "predictions.jsonl").write_bytes(b"".join(lines[:seen]))
        (view / "feedback.jsonl").write_bytes((folder / "feedback.jsonl").read_bytes())
        rollout = build_rollout(view, settings, gate, seed=look)
        read = sum(arm.requests for arm in rollout.arms), sum(arm.outcomes for arm in rollout.arms)
        if read != (seen, seen):
            raise SystemExit(f"look {look} read {read[0]} requests and {read[1]} outcomes of {seen}: not the logs")
        found.append(rollout.decision.action)
    return found


def rate(count: int, total: int) -> str:
    """A share with its 95% Wilson interval."""
    p, z = count / total, 1.96
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return f"{p:.1%} ({count}/{total}; 95% CI {max(0, centre - half):.1%}-{min(1, centre + half):.1%})"


def main() -> None:
    from lockstep.config import load_params
    from lockstep.rollout.decide import Action

    from tests.rollout_logs import Arm, write_logs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=100)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--looks", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--min-outcomes", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="2 simulations of 600 requests, 2 looks, 100 resamples")
    args = parser.parse_args()
    if args.smoke:
        args.simulations, args.requests, args.looks, args.resamples, args.min_outcomes = 2, 600, 2, 100, 100
    header("rollout_ab")
    # The gate's settings from params.yaml, judged on ROC AUC.
    gate = load_params(REPO_ROOT / "params.yaml").gate.model_copy(
        update={"metric": "roc_auc", "bootstrap_resamples": args.resamples}
    )
    prod = Arm("v0.1.0", signal=1.0)
    counts = {"null, last look": 0, "null, any of the looks": 0, "better, last look": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.simulations):
            for scenario, candidate in (("null", Arm("v0.2.0", 1.0)), ("better", Arm("v0.2.0", 1.3))):
                folder = Path(tmp) / f"{scenario}-{run}"
                write_logs(folder, "ab", args.requests, prod, candidate, seed=run)
                looks = args.looks if scenario == "null" else 1
                found = decisions(folder, args.requests, looks, gate, args.min_outcomes)
                counts[f"{scenario}, last look"] += found[-1] is Action.PROMOTE
                if scenario == "null":
                    counts["null, any of the looks"] += Action.PROMOTE in found
    print(
        f"A/B, {args.requests:,} requests per simulation (half per arm), {args.simulations} simulations, "
        f"{args.resamples} bootstrap resamples, {args.looks} looks"
    )
    for name, count in counts.items():
        print(f"  promoted ({name}): {rate(count, args.simulations)}")
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
