"""Benchmark: the drift monitor's speed and memory, its false alarms and its power (issue 21, first part).

The population: --population rows like the embedded credit data's 14 features (11 numbers: integers,
rounded and continuous ones, four with missing values; 3 categories), drawn independently per column.
The reference profile is fitted on a training sample of --training rows from it; every window draws rows
from it with replacement, so no-drift windows come from exactly the training data's population.

- speed: lockstep.monitoring (count_window, then check_window) on a 1M-row window, against a plain SciPy
  loop computing the same per-column scores on the same rows (chi2_contingency on the same bins,
  wasserstein_distance against the training rows, jensenshannon, the same quality shares), medians of 3;
  and the peak memory (VmHWM) of a process that counts 1M and 10M fresh rows in chunks of 100k.
- false alarms: the share of no-drift windows where any feature drifts, at 1k, 10k and 1M rows; and a
  0.02-std shift of --feature at 1M rows. Up to 10k rows, real rows. At 1M, a window's counts are drawn
  from the multinomial of the population's bin shares, which is exactly what the counts of 1M draws with
  replacement are (features drawn independently, as the population's columns are); a bin's sum of values
  is its count times the population's mean in that bin, which the distance reads only where the bin holds
  one value (an integer's), and the values beyond the training range are drawn from the population's.
- power: the share of windows that alarm on a 0.5-std shift of --feature at 2,000 rows, and the power
  curve (shift x rows; 100k rows and more from the multinomial).

    python benchmarks/monitor.py [--windows 1000] [--curve-windows 200] [--seed 0]
    python benchmarks/monitor.py --smoke   # 20 windows, small sizes: checks that it runs
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from _env import header, load, pinned
from scipy import stats
from scipy.spatial.distance import jensenshannon

from lockstep.evaluation.profile import ReferenceProfile, fit_profile
from lockstep.monitoring.drift import (
    Thresholds,
    check_window,
    drift_table,
    holm,
    reference_counts,
)
from lockstep.monitoring.window import (
    CategoricalCounts,
    NumericCounts,
    WindowCounts,
    count_categorical,
    count_numeric,
    count_window,
)

CATEGORIES = {
    "employment_type": (
        ["salaried", "self_employed", "contract", "unemployed", "retired"],
        [0.62, 0.14, 0.1, 0.06, 0.08],
    ),
    "home_ownership": (["mortgage", "rent", "own", "other"], [0.42, 0.36, 0.2, 0.02]),
    "loan_purpose": (
        ["debt_consolidation", "credit_card", "home_improvement", "car", "medical", "small_business", "education"],
        [0.38, 0.2, 0.12, 0.11, 0.07, 0.07, 0.05],
    ),
}
POPULATION: dict[str, np.ndarray] = {}  # set before the workers fork


def synthetic(rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """`rows` rows like the embedded data's 14 features."""

    def missing(values: np.ndarray, rate: float) -> np.ndarray:
        values[rng.random(rows) < rate] = np.nan
        return values

    columns = {
        "age": np.clip(np.rint(rng.normal(42, 12, rows)), 18, 100),
        "annual_income": missing(np.rint(rng.lognormal(10.9, 0.5, rows)), 0.03),
        "employment_length_years": missing(np.round(rng.gamma(2.0, 3.0, rows), 1), 0.05),
        "credit_history_years": rng.gamma(4.0, 3.0, rows),
        "num_open_accounts": rng.poisson(7, rows).astype(float),
        "credit_utilization": missing(rng.beta(2, 5, rows) * 1.2, 0.04),
        "late_payments_2y": rng.poisson(0.4, rows).astype(float),
        "loan_amount": np.round(rng.lognormal(9.5, 0.7, rows), 2),
        "loan_term_months": np.where(rng.random(rows) < 0.7, 36.0, 60.0),
        "debt_to_income": missing(rng.gamma(2.0, 0.15, rows), 0.02),
        "interest_rate": np.round(rng.beta(4, 30, rows), 4),
    }
    for name, (names, shares) in CATEGORIES.items():
        columns[name] = np.array(names, dtype=object)[rng.choice(len(names), rows, p=shares)]
    return columns


def numeric_names() -> set[str]:
    return {name for name in POPULATION if name not in CATEGORIES}


def draw_rows(rows: int, rng: np.random.Generator, shift: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """`rows` rows drawn with replacement from the population; `shift` adds a constant to a column."""
    picked = rng.integers(0, next(iter(POPULATION.values())).size, rows)
    window = {name: values[picked] for name, values in POPULATION.items()}
    for name, amount in (shift or {}).items():
        window[name] = window[name] + amount
    return window


def scipy_loop(profile: ReferenceProfile, training: dict[str, np.ndarray], window: dict[str, np.ndarray]) -> dict:
    """The same per-column scores, the plain way: per feature (distance, p-value, quality shares), then Holm."""
    scores = {}
    for name, part in profile.numeric.items():
        values = window[name]
        present = values[~np.isnan(values)]
        counts = np.bincount(np.searchsorted(part.edges, present, side="right"), minlength=len(part.edges) + 1)
        table = np.vstack([reference_counts(part.frequencies, part.rows, part.missing_rate), counts])
        p_value = stats.chi2_contingency(table[:, table.sum(axis=0) > 0], correction=False)[1]
        train = training[name][~np.isnan(training[name])]
        distance = stats.wasserstein_distance(present, train) / part.scale
        outside = np.count_nonzero((present < part.minimum) | (present > part.maximum)) / present.size
        scores[name] = (distance, p_value, 1 - present.size / values.size, outside)
    for name, part in profile.categorical.items():
        series = pd.Series(window[name])
        shares = series.value_counts()
        kept = shares.reindex(list(part.categories), fill_value=0).to_numpy()
        counts = np.append(kept, shares.sum() - kept.sum())
        table = np.vstack([reference_counts(part.frequencies, part.rows, part.missing_rate), counts])
        p_value = stats.chi2_contingency(table[:, table.sum(axis=0) > 0], correction=False)[1]
        unseen = shares[~shares.index.isin(list(part.known))].sum() / shares.sum()
        distance = jensenshannon(np.asarray(part.frequencies), counts, base=2)
        scores[name] = (distance, p_value, float(series.isna().mean()), unseen)
    adjusted = holm(np.array([scores[name][1] for name in sorted(scores)]))
    return {name: (*scores[name], p) for name, p in zip(sorted(scores), adjusted, strict=True)}


def timed(function, repeats: int = 3) -> tuple[float, object]:
    """The median wall time of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def verdict(goal: str, met: bool) -> str:
    return f"  goal {goal}: {'met' if met else 'NOT met'}"


def speed(profile: ReferenceProfile, training: dict[str, np.ndarray], rows: int, seed: int) -> None:
    """The monitor against the SciPy loop on one window of `rows` rows, and how far their scores differ."""
    window = draw_rows(rows, np.random.default_rng([seed, 1]))
    ours, report = timed(lambda: check_window(profile, count_window(profile, window)))
    loop, scores = timed(lambda: scipy_loop(profile, training, window))
    table = report.drift.set_index("feature")
    gap = max(abs(table.loc[name, "distance"] - score[0]) for name, score in scores.items())
    p_gap = max(abs(table.loc[name, "p_adjusted"] - score[4]) for name, score in scores.items())
    print(f"(a) speed, {rows:,} rows x {len(POPULATION)} features (medians of 3):")
    print(f"  monitor (count_window + check_window)  {ours:6.2f} s")
    print(f"  plain SciPy loop, same scores          {loop:6.2f} s   monitor / loop = {ours / loop:.2f}")
    print(verdict("<= 1.5x the loop and <= 10 s", ours <= 1.5 * loop and ours <= 10), flush=True)
    print(
        f"  same scores: max |distance difference| {gap:.4f} (sketch vs training rows), max |Holm p difference| "
        f"{p_gap:.1e}",
        flush=True,
    )


PEAK = """
import re, sys
sys.path.insert(0, {benchmarks!r})
from lockstep import numerics
numerics.pin_process()
import numpy as np
import monitor
from lockstep.monitoring.drift import check_window
from lockstep.evaluation.profile import ReferenceProfile
from lockstep.monitoring.window import count_window
profile = ReferenceProfile.from_json(open({profile!r}).read())
total = None
for index in range({chunks}):
    counts = count_window(profile, monitor.synthetic({chunk}, np.random.default_rng([7, index])))
    total = counts if total is None else total + counts
check_window(profile, total)
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""


def peak_memory(profile: ReferenceProfile, sizes: list[int], chunk: int) -> None:
    """VmHWM of a fresh process that counts `size` rows generated chunk by chunk (none kept)."""
    print(f"(a) peak memory, rows counted in chunks of {chunk:,} (generated, not kept):")
    peaks = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "profile.json"
        path.write_text(profile.to_json())
        for size in sizes:
            code = PEAK.format(
                benchmarks=str(Path(__file__).parent), profile=str(path), chunks=size // chunk, chunk=chunk
            )
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            peaks.append(int(done.stdout.split()[-1]) / 1024)
            print(f"  {size:>12,} rows: VmHWM {peaks[-1]:7.1f} MiB, {time.perf_counter() - started:5.1f} s", flush=True)
    print(verdict(f"flat ({sizes[-1]:,} within 10% of {sizes[0]:,})", peaks[-1] <= 1.1 * peaks[0]), flush=True)


PROFILE: list[ReferenceProfile] = []  # the fitted profile, set before the workers fork
CELLS: dict[float, dict[str, tuple]] = {}  # per shift of the feature (in std): each feature's population shares


def population_cells(profile: ReferenceProfile, feature: str, amount: float) -> dict[str, tuple]:
    """Per feature, the population's shares of [missing, bins...], and what a draw's sums need (numbers)."""
    cells: dict[str, tuple] = {}
    size = next(iter(POPULATION.values())).size
    for name, part in profile.numeric.items():
        values = POPULATION[name] + (amount if name == feature else 0.0)
        counts = count_numeric(part, values)
        means = np.divide(counts.sums, counts.bins, out=np.zeros(counts.sums.size), where=counts.bins > 0)
        tails = (values[values < part.minimum], values[values > part.maximum])
        cells[name] = (np.append(counts.missing, counts.bins) / size, means, *tails)
    for name, part in profile.categorical.items():
        counts = count_categorical(part, POPULATION[name])
        cells[name] = (np.append(counts.missing, counts.counts) / size,)
    return cells


def multinomial_counts(cells: dict[str, tuple], rows: int, rng: np.random.Generator) -> WindowCounts:
    """The counts of `rows` draws from the population, drawn at once from the multinomial of its shares."""
    numeric, categorical = {}, {}
    for name, (shares, *rest) in sorted(cells.items()):
        drawn = rng.multinomial(rows, shares / shares.sum())
        if not rest:
            categorical[name] = CategoricalCounts(drawn[1:].astype(np.int64), int(drawn[0]))
            continue
        means, below, above = rest
        bins = drawn[1:].astype(np.int64)
        sums = bins * means
        sums[0] = rng.choice(below, bins[0]).sum() if bins[0] else 0.0
        sums[-1] = rng.choice(above, bins[-1]).sum() if bins[-1] else 0.0
        numeric[name] = NumericCounts(bins, sums, int(drawn[0]))
    return WindowCounts(numeric, categorical)


def window_flags(task: tuple[str, float, int, int, int]) -> tuple[bool, bool, bool, bool]:
    """One window: (any feature drifted, the shifted one drifted, any test significant, any distance above its floor)."""
    feature, shift, rows, seed, index = task
    profile = PROFILE[0]
    rng = np.random.default_rng([seed, rows, int(shift * 1000), index])
    if rows >= 100_000:
        counts = multinomial_counts(CELLS[shift], rows, rng)
    else:
        counts = count_window(profile, draw_rows(rows, rng, {feature: shift * profile.numeric[feature].std}))
    table = drift_table(profile, counts).set_index("feature")
    above = table["distance"] > table["floor"]
    return (
        bool(table["drift"].any()),
        bool(table.loc[feature, "drift"]),
        bool(table["significant"].any()),
        bool(above.any()),
    )


def run_windows(pool, feature: str, shift: float, rows: int, windows: int, seed: int) -> np.ndarray:
    """The flags of `windows` windows, one row each."""
    tasks = [(feature, shift, rows, seed, index) for index in range(windows)]
    return np.array(pool.map(window_flags, tasks, chunksize=max(1, windows // 20)))


def false_alarms(pool, feature: str, sizes: list[int], windows: int, seed: int) -> None:
    """No-drift windows at each size, and the 0.02-std shift at the largest."""
    print(f"(b) false alarms: share of {windows:,} windows where any feature drifts (multinomial from 100k rows):")
    for rows in sizes:
        flags = run_windows(pool, feature, 0.0, rows, windows, seed)
        share = flags[:, 0].mean()
        print(
            f"  no drift, {rows:>9,} rows: {share:6.1%} ({int(flags[:, 0].sum())}/{windows}); test alone "
            f"{flags[:, 2].mean():.1%}, floor alone {flags[:, 3].mean():.1%}" + verdict("<= 1%", share <= 0.01),
            flush=True,
        )
    rows = sizes[-1]
    flags = run_windows(pool, feature, 0.02, rows, windows, seed)
    print(
        f"  {feature} +0.02 std, {rows:,} rows: {int(flags[:, 0].sum())} windows alarm; its test alone "
        f"{flags[:, 2].mean():.1%}, its distance above the floor {flags[:, 3].mean():.1%}"
        + verdict("0 alarms", flags[:, 0].sum() == 0),
        flush=True,
    )


def large_reference(feature: str, rows: int, windows: int, seed: int) -> None:
    """The 0.02-std shift against a profile of the whole population: its test alone sees it, the floor stops it."""
    profile = fit_profile(POPULATION, numeric_names())
    cells = population_cells(profile, feature, 0.02 * profile.numeric[feature].std)
    rng = np.random.default_rng([seed, 3])
    alarms = significant = 0
    for _ in range(windows):
        table = drift_table(profile, multinomial_counts(cells, rows, rng)).set_index("feature")
        alarms += bool(table["drift"].any())
        significant += bool(table.loc[feature, "significant"])
    size = next(iter(POPULATION.values())).size
    print(
        f"  the same, profile fitted on all {size:,} population rows: {alarms} windows alarm; its test alone "
        f"{significant / windows:.1%}" + verdict("0 alarms", alarms == 0),
        flush=True,
    )


def power(
    pool, feature: str, windows: int, curve_windows: int, shifts: list[float], sizes: list[int], seed: int
) -> None:
    """The share of windows alarming on a shift of `feature`: at 0.5 std and 2,000 rows, then the curve."""
    flags = run_windows(pool, feature, 0.5, 2_000, windows, seed)
    share = flags[:, 1].mean()
    print(
        f"(c) power: {feature} +0.5 std, 2,000 rows: {share:.1%} of {windows:,} windows alarm on it; "
        f"any other feature in {(flags[:, 0] & ~flags[:, 1]).mean():.1%}" + verdict(">= 99%", share >= 0.99),
        flush=True,
    )
    print(f"  power curve ({curve_windows} windows a cell): share alarming on {feature}")
    print("  " + "shift (std)".ljust(12) + "".join(f"{rows:>11,}" for rows in sizes))
    for shift in shifts:
        row = [run_windows(pool, feature, shift, rows, curve_windows, seed)[:, 1].mean() for rows in sizes]
        print(f"  {shift:<12}" + "".join(f"{value:>11.1%}" for value in row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--curve-windows", type=int, default=200)
    parser.add_argument("--population", type=int, default=1_000_000, help="rows the windows are drawn from")
    parser.add_argument(
        "--training", type=int, default=16_000, help="rows the profile is fitted on (the embedded split's)"
    )
    parser.add_argument("--feature", default="credit_history_years", help="the feature shifted")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--smoke", action="store_true", help="20 windows, 5 a curve cell, small sizes")
    args = parser.parse_args()
    speed_rows, memory_rows, chunk = 1_000_000, [1_000_000, 10_000_000], 100_000
    if args.smoke:
        args.windows, args.curve_windows, args.population = 20, 5, 200_000
        speed_rows, memory_rows, chunk = 100_000, [100_000, 200_000], 50_000
    header("monitor")
    started = time.monotonic()
    POPULATION.update(synthetic(args.population, np.random.default_rng([args.seed, 0])))
    training = draw_rows(args.training, np.random.default_rng([args.seed, 2]))
    profile = fit_profile(training, numeric_names())
    PROFILE.append(profile)
    thresholds = Thresholds()
    print(
        f"population {args.population:,} rows, profile fitted on {args.training:,}; thresholds: {thresholds}",
        flush=True,
    )
    speed(profile, training, min(speed_rows, args.population), args.seed)
    peak_memory(profile, memory_rows, chunk)
    shifts = [0.05, 0.1, 0.2, 0.3, 0.5]
    std = profile.numeric[args.feature].std
    for shift in {0.0, 0.02, *shifts}:
        CELLS[shift] = population_cells(profile, args.feature, shift * std)
    with Pool(args.workers) as pool:
        false_alarms(pool, args.feature, [1_000, 10_000, 1_000_000], args.windows, args.seed)
        large_reference(args.feature, 1_000_000, args.windows, args.seed)
        power(
            pool,
            args.feature,
            args.windows,
            args.curve_windows,
            shifts,
            [1_000, 2_000, 10_000, 100_000, 1_000_000],
            args.seed,
        )
    print(f"{time.monotonic() - started:.0f} s in all")
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
