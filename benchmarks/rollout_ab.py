"""Benchmark: how often the rollout report's hourly decision promotes a candidate that is no better (and how fast a better one).

Each simulation scores the same labelled rows with prod and the candidate
(binormal: score = signal * (+1 for a positive, -1 for a negative) + noise of
unit variance, so ROC AUC = Phi(sqrt(2) * signal); the two models' noise shares
a part, with correlation --noise-correlation, like two fits of one model family).
Rows arrive at --per-day a day; the report looks every hour for --days days
from --min-outcomes on, and decides as the report does: with the always-valid
bounds of lockstep.rollout.sequential on the paired ROC AUC difference
(`paired_auc_difference`, `always_valid_bounds`, tuned to the planned outcomes).

- null: the candidate's ROC AUC equals prod's; any promotion is false. Beside it,
  the old way: a fixed 95% interval (delta +- 1.96 se) acted on at every look, and at the last only;
- better: the candidate gains --gain; power within the horizon, and a fixed one-look test's at its end;
- canary: the candidate loses 2 x max_regression; a next step (lower bound > -max_regression) is false;
- far worse: the candidate loses 4 x max_regression; how often the canary rolls back.

    python benchmarks/rollout_ab.py [--simulations 1000] [--days 14] [--per-day 2000] [--seed 0]
    python benchmarks/rollout_ab.py --smoke   # 3 simulations per scenario over 2 days: checks that it runs
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass
from multiprocessing import Pool
from statistics import NormalDist

from _env import REPO_ROOT, header, load, pinned

PROMOTE, ROLLBACK, WAIT = "promote", "roll back", "wait"


@dataclass(frozen=True)
class Settings:
    """What every simulation shares."""

    seed: int
    days: int
    per_day: int
    looks_per_day: int
    base_rate: float
    prod_auc: float
    noise_correlation: float
    min_outcomes: int
    planned: int
    confidence: float

    @property
    def looks(self) -> int:
        return self.days * self.looks_per_day

    def rows(self, look: int) -> int:
        """The labelled rows the report has read at look `look` (1-based)."""
        return look * self.per_day // self.looks_per_day


@dataclass(frozen=True)
class Scenario:
    """A candidate's true gain, the margin its decision uses, what to record and which event ends the test."""

    name: str
    gain: float
    margin: float  # the promote / next-step threshold on the gain: 0, or -max_regression for a canary
    track: tuple[str, ...]  # events whose first look is recorded: "<rule> <action>", rule "sequential" or "fixed"
    ends: str | None  # the event after which the rollout is over (later looks change no reported figure)


def decide(low: float, high: float, margin: float) -> str:
    """The report's rule on an interval of the gain: promote (or next step) above `margin`, roll back below.

    The same rule as src/lockstep/rollout/decide.py applies to the always-valid bounds (issue 20): shadow
    and A/B with margin 0, a canary with margin -gate.max_regression; WAIT while the interval straddles it.
    """
    if low > margin:
        return PROMOTE
    if high < margin:
        return ROLLBACK
    return WAIT


def signal(auc: float) -> float:
    """The binormal signal whose ROC AUC is `auc` (unit-variance noise): Phi(sqrt(2) * signal) = auc."""
    return NormalDist().inv_cdf(auc) / math.sqrt(2)


def simulate(task: tuple[Settings, Scenario, int, int]) -> dict[str, float | str | None]:
    """One test: the first look (in hours) of each tracked event, and the fixed one-look test's action at the end."""
    import numpy as np  # after the pin, in a worker of the pinned process

    from lockstep.rollout.sequential import always_valid_bounds, paired_auc_difference

    settings, scenario, index, run = task
    rng = np.random.default_rng([settings.seed, index, run])  # per simulation: independent of the workers
    total = settings.rows(settings.looks)
    positive = rng.random(total) < settings.base_rate
    sign = np.where(positive, 1.0, -1.0)
    shared = rng.standard_normal(total)
    rho = settings.noise_correlation
    prod_noise = math.sqrt(rho) * shared + math.sqrt(1 - rho) * rng.standard_normal(total)
    candidate_noise = math.sqrt(rho) * shared + math.sqrt(1 - rho) * rng.standard_normal(total)
    prod = signal(settings.prod_auc) * sign + prod_noise
    candidate = signal(settings.prod_auc + scenario.gain) * sign + candidate_noise
    z = NormalDist().inv_cdf(1 - (1 - settings.confidence) / 2)

    # The fixed-horizon test: one look at the end, the one-look interval delta +- z se.
    delta, se = paired_auc_difference(positive, prod, candidate)
    found: dict[str, float | str | None] = {"fixed end": decide(delta - z * se, delta + z * se, scenario.margin)}
    found |= dict.fromkeys(scenario.track)
    for look in range(1, settings.looks + 1):
        rows = settings.rows(look)
        if rows < settings.min_outcomes:
            continue
        delta, se = paired_auc_difference(positive[:rows], prod[:rows], candidate[:rows])
        if math.isnan(se):
            continue
        bounds = always_valid_bounds(delta, se, rows, settings.planned, settings.confidence)
        actions = {
            "sequential": decide(bounds.low, bounds.high, scenario.margin),
            "fixed": decide(delta - z * se, delta + z * se, scenario.margin),
        }
        for event in scenario.track:
            rule, action = event.split(" ", 1)
            if found[event] is None and actions[rule] == action:
                found[event] = look / settings.looks_per_day  # in days
        if (scenario.ends is not None and found[scenario.ends] is not None) or all(
            found[event] is not None for event in scenario.track
        ):
            break
    return found


def rate(count: int, total: int) -> str:
    """A share with its 95% Wilson interval."""
    p, z = count / total, 1.96
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return f"{p:.1%} ({count}/{total}; 95% CI {max(0, centre - half):.1%}-{min(1, centre + half):.1%})"


def line(
    name: str, count: int, total: int, goal: tuple[str, bool] | None = None, days: list[float] | None = None
) -> None:
    """One figure: a rate with its interval, the median day if any, and the goal with met / NOT met."""
    when = f", median day {statistics.median(days):.1f}" if days else ""
    verdict = f"  goal {goal[0]}: {'met' if goal[1] else 'NOT met'}" if goal else ""
    print(f"  {name:<66} {rate(count, total)}{when}{verdict}", flush=True)


def report(scenario: Scenario, results: list[dict[str, float | str | None]], settings: Settings) -> None:
    """The scenario's figures, side by side."""
    n = len(results)

    def first(event: str) -> list[float]:
        return [float(r[event]) for r in results if r[event] is not None]  # type: ignore[arg-type]

    fixed_end = sum(r["fixed end"] == PROMOTE for r in results)
    fixed_back = sum(r["fixed end"] == ROLLBACK for r in results)
    horizon = f"{settings.days} days"
    print(f"{scenario.name}:", flush=True)
    if scenario.name.startswith("null"):
        promoted = first("sequential promote")
        line("false promotion, always-valid bounds, any look", len(promoted), n, ("<= 5%", len(promoted) <= 0.05 * n))
        line("false promotion, fixed 95% interval, any look (the old way)", len(first("fixed promote")), n)
        line(f"false promotion, fixed 95% interval, last look only (day {settings.days})", fixed_end, n)
        line("false rollback, always-valid bounds, any look", len(first("sequential roll back")), n)
    elif scenario.gain > 0:
        promoted = first("sequential promote")
        line(
            f"promoted within {horizon}, always-valid bounds",
            len(promoted),
            n,
            ("> 80%", len(promoted) > 0.8 * n),
            promoted,
        )
        line(f"promoted, fixed 95% interval, one look at day {settings.days}", fixed_end, n)
    elif scenario.track == ("sequential promote", "sequential roll back"):
        widened, back = first("sequential promote"), first("sequential roll back")
        line(
            "false next step (lower bound > -max_regression) before a rollback",
            len(widened),
            n,
            ("<= 5%", len(widened) <= 0.05 * n),
            widened,
        )
        line(f"rolled back within {horizon} (upper bound < -max_regression)", len(back), n, None, back)
        line(f"rolled back, fixed 95% interval, one look at day {settings.days}", fixed_back, n)
    else:
        back = first("sequential roll back")
        line(f"rolled back within {horizon}, always-valid bounds", len(back), n, ("> 80%", len(back) > 0.8 * n), back)


def main() -> None:
    from lockstep.config import load_params

    gate = load_params(REPO_ROOT / "params.yaml").gate
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=1000, help="per scenario")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--per-day", type=int, default=2000, help="labelled outcomes a day")
    parser.add_argument("--looks-per-day", type=int, default=24, help="the report's looks a day (hourly)")
    parser.add_argument("--base-rate", type=float, default=0.10, help="the share of positives")
    parser.add_argument("--prod-auc", type=float, default=0.746, help="prod's ROC AUC")
    parser.add_argument("--gain", type=float, default=0.02, help="the better candidate's ROC AUC gain")
    parser.add_argument("--noise-correlation", type=float, default=0.8, help="of the two models' score noise")
    parser.add_argument("--min-outcomes", type=int, default=200)
    parser.add_argument("--planned", type=int, default=None, help="outcomes the bounds are tuned to (days x per day)")
    parser.add_argument("--max-regression", type=float, default=gate.max_regression)
    parser.add_argument("--confidence", type=float, default=gate.confidence)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--smoke", action="store_true", help="3 simulations per scenario over 2 days")
    args = parser.parse_args()
    if args.smoke:
        args.simulations, args.days = 3, 2
    settings = Settings(
        seed=args.seed,
        days=args.days,
        per_day=args.per_day,
        looks_per_day=args.looks_per_day,
        base_rate=args.base_rate,
        prod_auc=args.prod_auc,
        noise_correlation=args.noise_correlation,
        min_outcomes=args.min_outcomes,
        planned=args.planned or args.days * args.per_day,
        confidence=args.confidence,
    )
    regression = args.max_regression
    scenarios = [
        Scenario(
            "null (candidate ROC AUC = prod's)",
            0.0,
            0.0,
            ("sequential promote", "sequential roll back", "fixed promote"),
            None,
        ),
        Scenario(
            f"better (candidate +{args.gain:.2f} ROC AUC)",
            args.gain,
            0.0,
            ("sequential promote",),
            "sequential promote",
        ),
        Scenario(
            f"canary, candidate -{2 * regression:.2f} ROC AUC (2 x max_regression {regression})",
            -2 * regression,
            -regression,
            ("sequential promote", "sequential roll back"),
            "sequential roll back",
        ),
        Scenario(
            f"canary, candidate -{4 * regression:.2f} ROC AUC (4 x max_regression)",
            -4 * regression,
            -regression,
            ("sequential roll back",),
            "sequential roll back",
        ),
    ]
    header("rollout_ab")
    print(
        f"{args.simulations} simulations per scenario, seed {settings.seed}, {settings.looks} looks "
        f"({settings.looks_per_day} a day for {settings.days} days, from {settings.min_outcomes} outcomes on), "
        f"{settings.per_day:,} labelled outcomes a day, planned {settings.planned:,}, base rate {settings.base_rate:.0%}, "
        f"prod ROC AUC {settings.prod_auc}, noise correlation {settings.noise_correlation}, "
        f"confidence {settings.confidence}, {args.workers} workers",
        flush=True,
    )
    started = time.monotonic()
    with Pool(args.workers) as pool:
        for index, scenario in enumerate(scenarios):
            tasks = [(settings, scenario, index, run) for run in range(args.simulations)]
            results = list(pool.imap(simulate, tasks, chunksize=4))
            report(scenario, results, settings)
            print(f"  ({time.monotonic() - started:.0f} s so far, {load()})", file=sys.stderr, flush=True)
    print(f"{time.monotonic() - started:.0f} s in all")
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
