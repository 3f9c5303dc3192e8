"""The reference profile: fitted once, and the same bytes after a round trip through JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lockstep.evaluation.profile import (
    ReferenceProfile,
    fit_categorical,
    fit_numeric,
    fit_profile,
    label_text,
)

from tests.unit.monitoring.data import NUMERIC, columns, profile


def test_the_json_round_trip_is_byte_identical() -> None:
    rng = np.random.default_rng(2)
    labels = rng.choice(np.array(["no", "yes"], dtype=object), 1_000, p=[0.999, 0.001])
    fitted = fit_profile(columns(5_000, 1), NUMERIC, score=rng.random(1_000), label=labels)
    text = fitted.to_json()
    again = ReferenceProfile.from_json(text)
    assert again == fitted
    assert again.to_json() == text
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=1) + "\n"
    assert again.score is not None
    assert len(again.score.quantiles) == 1001
    assert again.label is not None
    assert again.label.categories == ("no", "yes")  # every predicted class is kept, however rare


def test_a_label_has_one_spelling_whatever_type_carries_it() -> None:
    assert [label_text(v) for v in (1, 1.0, np.int64(1), np.float32(1.0), "1")] == ["1"] * 5
    assert [label_text(v) for v in (True, np.bool_(False), "yes", 2.5, None, float("nan"))] == [
        "True",
        "False",
        "yes",
        "2.5",
        None,
        None,
    ]


def test_a_numeric_profile_has_decile_bins_a_sketch_and_its_moments() -> None:
    values = np.random.default_rng(0).normal(3.0, 2.0, 10_000)
    values[:100] = np.nan
    part = fit_numeric(values)
    assert len(part.edges) == 9
    assert len(part.frequencies) == 10
    assert np.allclose(part.frequencies, 0.1, atol=0.002)
    assert part.missing_rate == pytest.approx(0.01)
    assert (
        (part.minimum, part.maximum)
        == (part.quantiles[0], part.quantiles[-1])
        == (
            np.nanmin(values),
            np.nanmax(values),
        )
    )
    assert part.mean == pytest.approx(3.0, abs=0.05)
    assert part.std == pytest.approx(2.0, abs=0.05)


def test_integer_columns_get_deduplicated_edges() -> None:
    part = fit_numeric(np.random.default_rng(0).poisson(0.7, 10_000).astype(float))
    assert list(part.edges) == sorted(set(part.edges))
    assert len(part.edges) < 9
    assert sum(part.frequencies) == pytest.approx(1.0)


def test_rare_categories_fold_into_other_and_stay_known() -> None:
    values = np.array(["a"] * 600 + ["b"] * 397 + ["c"] * 3 + [None] * 10, dtype=object)
    part = fit_categorical(values, min_share=0.005)
    assert part.categories == ("a", "b")
    assert part.rare == ("c",)
    assert part.frequencies == pytest.approx((0.6, 0.397, 0.003))
    assert part.missing_rate == pytest.approx(10 / 1010)


def test_a_column_without_values_or_a_missing_numeric_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        fit_numeric(np.full(10, np.nan))
    with pytest.raises(ValueError, match="not among the columns"):
        fit_profile({"a": np.ones(3)}, {"b"})


def test_the_profile_lists_every_feature() -> None:
    assert profile(2_000).features == ["age", "employment", "income", "late_payments"]
