"""The golden holdout's report section and the gate's regression rule on it."""

from __future__ import annotations

from lockstep.config import load_params
from lockstep.review.bootstrap import Interval
from lockstep.review.gate import holds_against_base
from lockstep.review.golden import GoldenResult, golden_lines


def test_a_real_regression_on_the_holdout_fails_and_noise_does_not() -> None:
    cfg = load_params().gate
    real = Interval(-0.03, -0.05, -0.01, 0.95, 1000, 0.01)
    assert holds_against_base("roc_auc", 0.70, 0.73, real, cfg) == (
        False,
        "-0.0300 against the base (0.7300): worse than the tolerance of 0.01, and real (95% CI [-0.0500, -0.0100] "
        "excludes 0)",
    )
    noise = Interval(-0.03, -0.07, 0.01, 0.95, 1000, 0.02)
    assert holds_against_base("roc_auc", 0.70, 0.73, noise, cfg)[0]
    assert holds_against_base("roc_auc", 0.725, 0.73, None, cfg)[0]  # within the tolerance


def test_the_section_says_which_rows_and_the_verdict() -> None:
    interval = Interval(0.01, 0.002, 0.02, 0.95, 1000, 0.005)
    lines = golden_lines(GoldenResult(4000, "roc_auc", 0.72, 0.73, interval, True, "+0.0100 against the base"))
    assert lines[1] == "### Golden holdout"
    assert "(4,000 rows, `data/golden/holdout.parquet`): `roc_auc` 0.7200 (base) → 0.7300 (this revision)" in lines[3]
    assert lines[-1] == "- ✅ +0.0100 against the base"
    assert golden_lines(None) == []
    assert golden_lines("cannot be scored") == ["", "### Golden holdout", "", "- cannot be scored"]


def test_a_labelled_traffic_version_shows_its_mix() -> None:
    from lockstep.review.datasets import traffic_line

    mix = {
        "window": ["2026-12-01T00:00:00+00:00", "2026-12-03T00:00:00+00:00"],
        "served_rows": 6000,
        "labelled_rows": 3000,
        "labelled_share": 0.5,
        "rows_per_version": {"v0.1.0": 2500, "v0.2.0": 500},
    }
    assert traffic_line(mix) == (
        "  - ⚠️ labelled traffic: 3,000 of 6,000 served rows (50.0%) from 2026-12-01T00:00:00+00:00 to "
        "2026-12-03T00:00:00+00:00, served by v0.1.0 2,500, v0.2.0 500: rows a model chose to answer, "
        "not a sample of everyone"
    )
