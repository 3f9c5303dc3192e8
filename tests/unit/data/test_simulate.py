"""Simulated traffic: the drift options' syntax, the rows as JSON records, and the one-line summary."""

from __future__ import annotations

import json

import pytest

from lockstep.data.simulate import (
    TrafficSummary,
    parse_drift,
    send_traffic,
    simulated_rows,
)
from lockstep.data.synthetic import Drift


def test_the_options_name_each_drift() -> None:
    drift = parse_drift(
        ["age=0.5", "annual_income=-0.25"], ["loan_purpose=crypto:0.2"], ["annual_income=0.3"], "0.3", "age"
    )
    assert drift == Drift(
        shift={"age": 0.5, "annual_income": -0.25},
        new_category={"loan_purpose": ("crypto", 0.2)},
        missing={"annual_income": 0.3},
        prior=0.3,
        concept="age",
    )
    assert parse_drift([], [], [], None, None) == Drift()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((["age"], [], [], None, None), "--shift age: write FEATURE=K"),
        ((["age=lots"], [], [], None, None), "--shift age=lots: 'lots' is not a number"),
        ((["purpose=0.5"], [], [], None, None), "--shift: 'purpose' is not one of age, "),
        (
            ([], ["loan_purpose=crypto"], [], None, None),
            "--new-category loan_purpose=crypto: write FEATURE=VALUE:SHARE",
        ),
        (([], ["loan_purpose=car:0.1"], [], None, None), "--new-category: 'car' is already a category"),
        (([], [], ["annual_income=2"], None, None), r"--missing: the share 2.0 is not in \(0, 1\]"),
        (([], [], [], "high", None), "--prior high: 'high' is not a number"),
        (([], [], [], "1.5", None), "--prior: 1.5 is not a rate between 0 and 1"),
        (([], [], [], None, "grit"), "--concept: 'grit' is not a term"),
    ],
)
def test_a_bad_option_is_one_line_naming_it(options: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_drift(*options)
    assert "\n" not in str(caught.value)


def test_rows_are_json_ready_with_ids_of_their_seed_and_nulls_for_gaps() -> None:
    records, outcomes = simulated_rows(300, 4, Drift(missing={"age": 0.5}))
    assert len(records) == len(outcomes) == 300
    assert records[0]["loan_id"] == "S4-L000000001"
    assert "default" not in records[0]
    assert {type(record["age"]) for record in records} == {int, type(None)}
    assert set(outcomes) == {0, 1}
    json.dumps(records, allow_nan=False)  # no NaN: a missing value is null
    assert simulated_rows(300, 4, Drift(missing={"age": 0.5})) == (records, outcomes)


def test_a_server_that_does_not_answer_is_counted_as_failures() -> None:
    summary = send_traffic("http://127.0.0.1:9", [{"age": 1}] * 3, [0, 1, 0], concurrency=2, outcome_delay=0)
    assert (summary.sent, summary.answered, summary.failed, summary.outcomes_posted) == (3, 0, 3, 0)
    assert summary.first_error


def test_a_url_that_is_not_a_server_s_is_refused() -> None:
    with pytest.raises(ValueError, match="base URL"):
        send_traffic("ftp://example.com", [], None)


def test_the_summary_is_one_line() -> None:
    line = TrafficSummary(10, 8, 1, 1, 8, "HTTP 422 ...").line("http://h:1")
    assert line == (
        "sent 10 rows to http://h:1: 8 answered, 2 errors (1 refused, 1 failed); 8 outcomes posted;"
        " first error: HTTP 422 ..."
    )
