"""The golden holdout: a frozen set every review scores both models on, so a retrain cannot forget old cases unseen.

The test set moves with the data (a data update brings new rows, a time split
tests on the latest ones); the golden holdout does not. `data golden` freezes the
current test set into `data/golden/holdout.parquet`, tracked with `dvc add`. Each
review then scores the base branch's model and this revision's on it, paired,
and the gate applies its regression rule to the primary metric there too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from .. import paths
from ..config import GateConfig
from ..errors import PipelineError
from ..evaluation.metrics import METRICS, Scored, compute_metrics, predict
from ..registry.store import WORKSPACE, load_at_commit, load_version
from .bootstrap import Interval, paired_bootstrap
from .gate import holds_against_base

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GoldenResult:
    """Both models on the golden holdout: the primary metric, its paired interval, and the gate's rule on it."""

    rows: int
    metric: str
    base_value: float
    new_value: float
    interval: Interval | None
    passed: bool
    reason: str


def score_golden(base_commit: str, task: str, metric: str, cfg: GateConfig, seed: int) -> GoldenResult | str | None:
    """The golden holdout's result; a note when it cannot be scored; None when the project has none."""
    if not paths.GOLDEN_SET.is_file():
        return None
    holdout = pd.read_parquet(paths.GOLDEN_SET)
    try:
        base = load_at_commit(base_commit, "the base")
        new = load_version(WORKSPACE)
        base_predictions = predict(base.model, holdout, base.contract)
        new_predictions = predict(new.model, holdout, new.contract)
    except (PipelineError, KeyError, ValueError) as exc:
        log.warning("the golden holdout cannot be scored: %s", exc)
        return f"the golden holdout cannot be scored by both models ({str(exc).splitlines()[0]}): freeze a new one"
    classes = new.contract.classes
    base_value = compute_metrics(base_predictions, task, classes)[metric]
    new_value = compute_metrics(new_predictions, task, classes)[metric]
    try:
        interval = paired_bootstrap(
            Scored.from_frame(base_predictions, task, classes),
            Scored.from_frame(new_predictions, task, classes),
            METRICS[task][metric],
            cfg.bootstrap_resamples,
            cfg.confidence,
            seed,
        )
    except ValueError:  # too few rows for the metric on every resample
        interval = None
    passed, reason = holds_against_base(metric, new_value, base_value, interval, cfg)
    return GoldenResult(len(holdout), metric, base_value, new_value, interval, passed, reason)


def golden_lines(result: GoldenResult | str | None) -> list[str]:
    """The report's Golden holdout section."""
    if result is None:
        return []
    if isinstance(result, str):
        return ["", "### Golden holdout", "", f"- {result}"]
    interval = (
        f", {result.interval.confidence:.0%} CI [{result.interval.low:+.4f}, {result.interval.high:+.4f}]"
        if result.interval
        else ""
    )
    return [
        "",
        "### Golden holdout",
        "",
        f"Both models on the frozen holdout ({result.rows:,} rows, `{paths.GOLDEN_SET}`): `{result.metric}` "
        f"{result.base_value:.4f} (base) → {result.new_value:.4f} (this revision){interval}.",
        "",
        f"- {'✅' if result.passed else '❌'} {result.reason}",
    ]
