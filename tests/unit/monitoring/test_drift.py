"""Drift alarms only when a distance above its floor and a corrected test agree; quality shows bad data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from lockstep.evaluation.profile import fit_profile
from lockstep.monitoring.drift import (
    Thresholds,
    check_window,
    chi_square_p,
    drift_table,
    holm,
    jensen_shannon,
    wasserstein,
)
from lockstep.monitoring.window import count_window

from tests.unit.monitoring.data import NUMERIC, columns, profile


def drifted(shift: float, rows: int, seed: int) -> set[str]:
    reference = profile()
    table = drift_table(reference, count_window(reference, columns(rows, seed, shift)))
    return set(table.loc[table["drift"], "feature"])


def test_no_drift_windows_do_not_alarm() -> None:
    reference = profile()
    for seed in range(1, 21):
        report = check_window(reference, count_window(reference, columns(2_000, seed)), f"w{seed}")
        assert not report.alerted, report.drift.to_string()


def test_a_half_std_shift_at_2000_rows_alarms_on_that_feature_only() -> None:
    for seed in range(1, 6):
        assert drifted(0.5, 2_000, seed) == {"income"}


def test_a_tiny_shift_in_a_huge_window_is_significant_but_below_the_floor() -> None:
    rows = 1_000_000
    reference = fit_profile(columns(rows, 0), NUMERIC)
    table = drift_table(reference, count_window(reference, columns(rows, 1, shift=0.02))).set_index("feature")
    assert table.loc["income", "p_adjusted"] < 1e-6  # the test alone would alarm
    assert table.loc["income", "distance"] == pytest.approx(0.02, abs=0.005)
    assert not table["drift"].any()


def quality(window: dict[str, np.ndarray]) -> dict[tuple[str, str], bool]:
    reference = profile()
    table = check_window(reference, count_window(reference, window)).quality
    return {(feature, check): alert for feature, check, alert in table[["feature", "check", "alert"]].to_numpy()}


def test_a_new_category_a_missing_spike_and_out_of_range_values_show_in_quality() -> None:
    window = columns(5_000, 3)
    assert not any(quality(window).values())
    window["employment"][:200] = "gig_worker"  # 4% unseen
    window["age"][:300] = np.nan  # 6% missing, none in training
    window["late_payments"][:100] = 99.0  # 2% beyond the training maximum
    alerts = {key for key, alert in quality(window).items() if alert}
    assert alerts == {("employment", "unseen_share"), ("age", "missing_rate"), ("late_payments", "out_of_range_share")}


def test_the_thresholds_are_settings() -> None:
    reference = profile()
    counts = count_window(reference, columns(2_000, 1, shift=0.5))
    table = drift_table(reference, counts, "w", Thresholds(numeric_floor=1.0))
    assert not table["drift"].any()
    assert table["significant"].any()
    assert set(table["window"]) == {"w"}


def test_the_chi_square_is_scipys_test_of_homogeneity() -> None:
    reference, window = np.array([300.0, 500.0, 200.0, 0.0]), np.array([40.0, 40.0, 15.0, 5.0])
    both = np.vstack([reference, window])
    assert chi_square_p(reference, window) == pytest.approx(stats.chi2_contingency(both)[1])  # a bin only one row has
    two = stats.chi2_contingency(both[:, :2], correction=False)[1]
    assert chi_square_p(np.array([300.0, 500.0, 0.0]), np.array([40.0, 40.0, 0.0])) == pytest.approx(two)  # left out
    assert chi_square_p(np.array([5.0]), np.array([7.0])) == 1.0


def test_the_jensen_shannon_distance_is_scipys() -> None:
    reference = np.array([0.5, 0.3, 0.2, 0.0])
    for window in (np.array([40.0, 40.0, 15.0, 5.0]), np.array([0.0, 0.0, 0.0, 9.0]), np.array([5.0, 3.0, 2.0, 0.0])):
        assert jensen_shannon(reference, window) == pytest.approx(jensenshannon(reference, window, base=2), abs=1e-12)


def test_holm_adjusts_step_down() -> None:
    assert holm(np.array([0.01, 0.04, 0.03, np.nan])) == pytest.approx([0.04, 0.09, 0.09, 1.0])


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0])
def test_the_wasserstein_distance_matches_scipys_on_the_training_rows(shift: float) -> None:
    # Within the sketch's resolution: a thousandth of the quantiles, which is 0.003 std for a count of 0 to 6.
    training, window = columns(20_000, 0), columns(20_000, 4, shift)
    reference = fit_profile(training, NUMERIC)
    counts = count_window(reference, window)
    for name in NUMERIC:
        part = reference.numeric[name]
        exact = stats.wasserstein_distance(*(values[~np.isnan(values)] for values in (window[name], training[name])))
        assert wasserstein(part, counts.numeric[name]) == pytest.approx(exact / part.std, abs=0.005)
