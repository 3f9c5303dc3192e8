"""Benchmark: how often the rollout report promotes an A/B candidate that is no better (and how often a better one).

Each simulation writes synthetic A/B logs (tests/rollout_logs.py: one request
per user, half on each arm, every outcome fed back) and runs the report's
decision on them, with the gate's defaults (ROC AUC, 95% bootstrap interval).

- null: both arms score with the same separation, so a promotion is false;
- better: the candidate's separation is larger (ROC AUC 0.92 -> 0.97);
- looks: the scheduled workflow reads the growing logs again and again, so the
  null case is also judged at --looks evenly spaced points of the same logs,
  and counted as promoted if any look promotes (peeking inflates the rate).

    python benchmarks/rollout_ab.py [--simulations 100] [--requests 2000] [--looks 5] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from lockstep.config import GateConfig  # noqa: E402
from lockstep.rollout.decide import Action  # noqa: E402
from lockstep.rollout.report import build_rollout  # noqa: E402
from lockstep.rollout.settings import rollout_settings  # noqa: E402

from tests.rollout_logs import Arm, write_logs  # noqa: E402

PROD = Arm("v0.1.0", signal=1.0)


def decisions(folder: Path, requests: int, looks: int, gate: GateConfig, min_outcomes: int) -> list[Action]:
    """The decision at each of `looks` growing prefixes of the logs in `folder`."""
    settings = rollout_settings({"mode": "ab", "split": 50, "min_outcomes": min_outcomes})
    lines = (folder / "predictions.jsonl").read_bytes().splitlines(keepends=True)
    found = []
    for look in range(1, looks + 1):
        view = folder / f"look-{look}"
        view.mkdir()
        (view / "predictions.jsonl").write_bytes(b"".join(lines[: requests * look // looks]))
        (view / "feedback.jsonl").write_bytes((folder / "feedback.jsonl").read_bytes())
        found.append(build_rollout(view, settings, gate, seed=look).decision.action)
    return found


def rate(count: int, total: int) -> str:
    """A share with its 95% Wilson interval."""
    p, z = count / total, 1.96
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return f"{p:.1%} ({count}/{total}; 95% CI {max(0, centre - half):.1%}-{min(1, centre + half):.1%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=100)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--looks", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--min-outcomes", type=int, default=200)
    args = parser.parse_args()
    gate = GateConfig(metric="roc_auc", bootstrap_resamples=args.resamples)
    counts = {"null, last look": 0, "null, any of the looks": 0, "better, last look": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.simulations):
            for scenario, candidate in (("null", Arm("v0.2.0", 1.0)), ("better", Arm("v0.2.0", 1.3))):
                folder = Path(tmp) / f"{scenario}-{run}"
                write_logs(folder, "ab", args.requests, PROD, candidate, seed=run)
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


if __name__ == "__main__":
    main()
