from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lockstep.data.split import split_by_time, split_train_test
from lockstep.errors import PipelineError


@pytest.fixture
def imbalanced() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=1_000), "y": (rng.random(1_000) < 0.1).astype(int)})


def test_stratified_split_keeps_the_class_balance(imbalanced: pd.DataFrame) -> None:
    train, test = split_train_test(imbalanced, "y", 0.2, seed=1, stratify=True)
    assert len(train) + len(test) == len(imbalanced)
    positives = int(imbalanced["y"].sum())
    assert int(test["y"].sum()) == round(0.2 * positives)
    assert int(test["y"].eq(0).sum()) == round(0.2 * (len(imbalanced) - positives))


def test_split_is_seeded_and_keeps_row_order(imbalanced: pd.DataFrame) -> None:
    first = split_train_test(imbalanced, "y", 0.2, seed=1, stratify=True)
    second = split_train_test(imbalanced, "y", 0.2, seed=1, stratify=True)
    other = split_train_test(imbalanced, "y", 0.2, seed=2, stratify=True)
    pd.testing.assert_frame_equal(first[1], second[1])
    assert not first[1].equals(other[1])
    rows = imbalanced.reset_index().merge(first[1], on=["x", "y"])["index"]
    assert rows.is_monotonic_increasing


def test_unstratified_split_takes_the_fraction(imbalanced: pd.DataFrame) -> None:
    train, test = split_train_test(imbalanced, "y", 0.25, seed=3, stratify=False)
    assert (len(train), len(test)) == (750, 250)
    assert not set(map(tuple, train.to_numpy())) & set(map(tuple, test.to_numpy()))


def test_a_class_with_two_rows_lands_in_both_parts() -> None:
    frame = pd.DataFrame({"x": range(12), "y": ["a"] * 10 + ["b"] * 2})
    train, test = split_train_test(frame, "y", 0.2, seed=0, stratify=True)
    assert set(train["y"]) == set(test["y"]) == {"a", "b"}


def test_a_small_class_keeps_a_row_in_train_whatever_the_test_size() -> None:
    frame = pd.DataFrame({"x": range(30), "y": ["a"] * 20 + ["b"] * 10})
    train, _ = split_train_test(frame, "y", 0.95, seed=0, stratify=True)
    assert set(train["y"]) == {"a", "b"}


def test_a_time_split_tests_on_the_latest_rows_and_keeps_the_file_order() -> None:
    frame = pd.DataFrame(
        {
            "when": ["2026-03-01", "2026-01-01T10:00", "2026-02-01", "2026-01-01T10:00", "2026-04-01"],
            "y": [0, 1, 0, 1, 0],
        }
    )
    train, test = split_by_time(frame, "when", test_size=0.4)
    assert test["when"].tolist() == ["2026-03-01", "2026-04-01"]  # the two latest, in the file's order
    assert train["when"].tolist() == ["2026-01-01T10:00", "2026-02-01", "2026-01-01T10:00"]


def test_a_time_split_refuses_a_missing_column_or_an_unreadable_time() -> None:
    frame = pd.DataFrame({"when": ["2026-01-01", "soon", None], "y": [0, 1, 0]})
    with pytest.raises(PipelineError, match=r"^split.time_column 'at' is not a column of the data"):
        split_by_time(frame, "at", 0.3)
    with pytest.raises(PipelineError, match=r"2 row\(s\) have no readable time \(the first is row 1, value 'soon'\)"):
        split_by_time(frame, "when", 0.3)


def test_the_schema_wants_a_time_column_for_a_time_split() -> None:
    from lockstep.config.split import SplitConfig

    settings = {"test_size": 0.2, "stratify": True, "min_rows": 1, "min_class_rows": 1, "strategy": "time"}
    with pytest.raises(ValueError, match="split.time_column must name"):
        SplitConfig.model_validate(settings | {"time_column": None})
    assert SplitConfig.model_validate(settings | {"time_column": "when"}).time_column == "when"
