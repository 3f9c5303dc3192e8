"""Benchmark: how close the label-free estimate (CBPE) comes to the realized ROC AUC, window by window (issue 21).

A reference is fitted once on a test set's scores and labels (lockstep.evaluation.calibration.fit_reference);
then each window of --rows rows is estimated from its scores alone (lockstep.monitoring.estimate.estimate),
and compared with the ROC AUC its labels give (scikit-learn's roc_auc_score, not this project's code).

Simulated: a calibrated model, score = sigmoid(z) with z ~ N(-2.5, 1): base rate about 10.5%, ROC AUC about 0.75,
like the default model; labels drawn from the scores. Scenarios:
- no shift: windows from the reference's population;
- covariate shift: z moves by +0.8 (the scores' distribution changes, their calibration does not; base rate ~19%);
- concept shift: the labels follow sigmoid(0.5 z - 1.1) instead (the same scores, a weaker relation: ROC AUC ~0.64).
And the default model: trained on the embedded synthetic data as `dvc repro` trains it (params.yaml), its
reference from its own test split, windows from fresh rows of the same generator (another seed).

Goals (issue 21), with no concept shift: mean absolute error <= 0.01 ROC AUC, and the 95% interval holds the
realized value in >= 90% of windows. Under a concept shift: how far off, and the caveat every estimate carries.

    python benchmarks/monitor_estimate.py [--windows 200] [--rows 5000] [--reference-rows 10000] [--seed 0]
    python benchmarks/monitor_estimate.py --smoke   # 3 windows of 2,000 rows per scenario: checks that it runs
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import numpy as np
from _env import REPO_ROOT, header, load, pinned
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

Window = tuple[np.ndarray, np.ndarray]
REALIZED = {"roc_auc": roc_auc_score, "average_precision": average_precision_score}


def simulated(rows: int, rng: np.random.Generator, shift: float = 0.0, concept: bool = False) -> Window:
    """Calibrated scores and their labels; `shift` moves z (covariate), `concept` changes the labels' relation."""
    z = rng.normal(-2.5 + shift, 1.0, rows)
    truth = 1 / (1 + np.exp(-(0.5 * z - 1.1))) if concept else 1 / (1 + np.exp(-z))
    return 1 / (1 + np.exp(-z)), (rng.random(rows) < truth).astype(int)


def default_model(train_rows: int | None, window_rows: int) -> tuple[Window, np.ndarray, np.ndarray]:
    """The default model's test-split (scores, labels), and scores and labels of `window_rows` fresh rows."""
    from lockstep.config import load_params
    from lockstep.data.prepare import prepare_data
    from lockstep.data.synthetic import generate_credit_data
    from lockstep.modeling.train import train_model

    cfg = load_params(REPO_ROOT / "params.yaml")
    ingest, target = cfg.data.ingest, cfg.data.target
    prepared = prepare_data(generate_credit_data(train_rows or ingest.n_rows, seed=ingest.seed), cfg)
    model = train_model(prepared.train, prepared.features, cfg)
    test = (model.predict_proba(prepared.test.drop(columns=[target]))[:, 1], prepared.test[target].to_numpy())
    fresh = generate_credit_data(window_rows, seed=ingest.seed + 1)
    return test, model.predict_proba(fresh.drop(columns=[target]))[:, 1], fresh[target].to_numpy().astype(int)


def compare(reference: object, windows: Iterator[Window], draws: int) -> tuple[dict[str, np.ndarray], str]:
    """Per window and metric: (estimate, low, high, realized); and the caveat the estimates carried."""
    from lockstep.monitoring.estimate import estimate

    found: dict[str, list[tuple[float, float, float, float]]] = {"roc_auc": [], "average_precision": [], "accuracy": []}
    caveat = ""
    for index, (scores, labels) in enumerate(windows):
        result = estimate(reference, scores, draws=draws, seed=index)  # type: ignore[arg-type]
        assert result.status == "estimated", result.reason
        caveat = result.caveat or ""
        for name, interval in result.metrics.items():
            truth = accuracy_score(labels, scores >= 0.5) if name == "accuracy" else REALIZED[name](labels, scores)
            found[name].append((interval.value, interval.low, interval.high, truth))
    return {name: np.array(rows) for name, rows in found.items()}, caveat


def report(name: str, figures: dict[str, np.ndarray], caveat: str, goals: bool) -> None:
    """The scenario's errors and coverage per metric, ROC AUC against the goals."""
    print(f"{name}:", flush=True)
    for metric, values in figures.items():
        errors = values[:, 0] - values[:, 3]
        mae, covered = (
            float(np.mean(np.abs(errors))),
            float(np.mean((values[:, 1] <= values[:, 3]) & (values[:, 3] <= values[:, 2]))),
        )
        verdict = ""
        if goals and metric == "roc_auc":
            verdict = f"  goals MAE <= 0.01: {'met' if mae <= 0.01 else 'NOT met'}, coverage >= 90%: {'met' if covered >= 0.9 else 'NOT met'}"
        print(
            f"  {metric:<18} realized {np.mean(values[:, 3]):.4f}, estimated {np.mean(values[:, 0]):.4f}; "
            f"MAE {mae:.4f}, mean error {np.mean(errors):+.4f}, max |error| {np.max(np.abs(errors)):.4f}; "
            f"95% interval holds realized in {covered:.1%} of {len(values)}{verdict}",
            flush=True,
        )
    if not goals:
        print(f"  every estimate's caveat: {caveat}", flush=True)


def main() -> None:
    from lockstep.evaluation.calibration import fit_reference

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200, help="per scenario")
    parser.add_argument("--rows", type=int, default=5000, help="per window")
    parser.add_argument("--reference-rows", type=int, default=10000, help="the simulated test set's rows")
    parser.add_argument("--draws", type=int, default=200, help="label draws behind each interval")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="3 windows of 2,000 rows per scenario, a small model")
    args = parser.parse_args()
    train_rows = None
    if args.smoke:
        args.windows, args.rows, args.reference_rows, train_rows = 3, 2000, 4000, 4000
    header("monitor_estimate")
    print(
        f"{args.windows} windows of {args.rows:,} rows per scenario, simulated test set {args.reference_rows:,} rows, "
        f"{args.draws} label draws per interval, seed {args.seed}",
        flush=True,
    )
    started = time.monotonic()
    rng = np.random.default_rng(args.seed)
    reference = fit_reference("binary", *simulated(args.reference_rows, rng))
    print(
        f"simulated reference: calibration error {reference.calibration_errors[0]:.4f}, map {reference.maps[0].method}, refusal {reference.refusal}"
    )
    scenarios = {
        "no shift (simulated)": {},
        "covariate shift, z + 0.8 (simulated)": {"shift": 0.8},
        "concept shift, labels ~ sigmoid(0.5 z - 1.1) (simulated)": {"concept": True},
    }
    for name, shift in scenarios.items():
        windows = (simulated(args.rows, rng, **shift) for _ in range(args.windows))
        report(name, *compare(reference, windows, args.draws), goals="concept" not in name)
    test, scores, labels = default_model(train_rows, args.windows * args.rows)
    reference = fit_reference("binary", *test)
    print(
        f"default model: test split {len(test[1]):,} rows, ROC AUC {roc_auc_score(test[1], test[0]):.4f}, "
        f"calibration error {reference.calibration_errors[0]:.4f}, map {reference.maps[0].method}, refusal {reference.refusal}",
        flush=True,
    )
    windows = ((scores[i : i + args.rows], labels[i : i + args.rows]) for i in range(0, len(scores), args.rows))
    report(
        "no shift (the default model, fresh rows of the embedded generator)",
        *compare(reference, windows, args.draws),
        goals=True,
    )
    print(f"{time.monotonic() - started:.0f} s in all")
    print(f"at the end: {load()}")


if __name__ == "__main__":
    pinned()
    main()
