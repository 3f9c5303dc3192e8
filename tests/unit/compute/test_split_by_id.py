"""The hash split and the training sample: functions of each row's id, the same in any partition."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lockstep.data import split
from lockstep.data.synthetic import generate_credit_data, generate_rows


def test_the_split_of_the_parts_is_the_split_of_the_whole() -> None:
    table = generate_credit_data(5_000, 3)
    whole = split.is_test_row(table, "loan_id", 0.2)
    for parts in (2, 9, 64):
        pieces = np.array_split(np.arange(len(table)), parts)
        merged = np.concatenate([split.is_test_row(table.iloc[rows], "loan_id", 0.2) for rows in pieces])
        assert (merged == whole).all()
    assert 0.18 < whole.mean() < 0.22
    train, test = split.split_by_hash(table, "loan_id", 0.2)
    assert len(train) + len(test) == len(table)
    assert test["loan_id"].tolist() == table["loan_id"][whole].tolist()  # each part keeps the order


def test_without_an_id_a_row_s_content_decides_and_equal_rows_stay_together() -> None:
    table = pd.DataFrame({"x": np.arange(1000) % 50, "y": np.arange(1000) % 50})
    test = split.is_test_row(table, None, 0.3)
    for value in range(50):
        assert len(set(test[table["x"] == value])) == 1


def test_the_training_sample_is_all_rows_under_the_cap_and_about_the_cap_above_it() -> None:
    table = generate_credit_data(20_000, 5)
    assert split.training_sample(table, "loan_id", 20_000) is table
    sample = split.training_sample(table, "loan_id", 5_000)
    assert 4_500 < len(sample) < 5_500
    part = table.iloc[7_000:9_000]
    picked = split.in_training_sample(part, "loan_id", len(table), 5_000)
    assert part["loan_id"][picked].tolist() == [i for i in sample["loan_id"] if i in set(part["loan_id"])]


def test_rows_of_the_generator_are_the_same_made_in_any_range() -> None:
    whole = generate_credit_data(250_000, 11)
    for start, stop in ((0, 10), (99_990, 100_020), (150_000, 250_000)):
        pd.testing.assert_frame_equal(generate_rows(start, stop, 11), whole.iloc[start:stop].reset_index(drop=True))
