"""A window's counts: additive, so reading it chunk by chunk gives what reading it at once gives."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from lockstep.monitoring.drift import check_window
from lockstep.monitoring.window import count_chunks, count_numeric, count_window

from tests.unit.monitoring.data import columns, profile


def test_chunked_accumulation_equals_one_shot() -> None:
    reference = profile()
    window = columns(10_000, 5, shift=0.3)
    whole = count_window(reference, window)
    cuts = [0, 1, 2_500, 7_001, 10_000]
    chunked = count_chunks(
        reference, ({name: values[a:b] for name, values in window.items()} for a, b in itertools.pairwise(cuts))
    )
    for name, part in whole.numeric.items():
        assert np.array_equal(part.bins, chunked.numeric[name].bins)
        assert part.missing == chunked.numeric[name].missing
        assert np.allclose(part.sums, chunked.numeric[name].sums, rtol=1e-12)
    for name, part in whole.categorical.items():
        assert np.array_equal(part.counts, chunked.categorical[name].counts)
    one, many = check_window(reference, whole), check_window(reference, chunked)
    pd.testing.assert_frame_equal(one.drift, many.drift, rtol=1e-9)
    pd.testing.assert_frame_equal(one.quality, many.quality)


def test_missing_values_are_counted_apart_from_the_bins() -> None:
    part = profile().numeric["income"]
    counts = count_numeric(part, np.array([np.nan, 1.0, 10.0, 100.0, np.nan]))
    assert counts.missing == 2
    assert counts.present == 3
    assert counts.bins[0] == 1
    assert counts.bins[-1] == 1
    assert counts.sums[-1] == pytest.approx(100.0)


def test_a_window_without_a_feature_is_refused() -> None:
    window = columns(100, 1)
    del window["age"]
    with pytest.raises(ValueError, match="age"):
        count_window(profile(), window)
    with pytest.raises(ValueError, match="at least one chunk"):
        count_chunks(profile(), [])
