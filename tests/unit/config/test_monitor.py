"""`monitor:` in params.yaml: a window by time or rows, and one line naming a bad key."""

from __future__ import annotations

import copy

import pytest
import yaml

from lockstep.config import parse_params
from lockstep.errors import PipelineError

from tests.conftest import REPO_ROOT

RAW = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())


def with_monitor(**changes: object) -> dict:
    raw = copy.deepcopy(RAW)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        section = raw["monitor"]
        for parent in parents:
            section = section[parent]
        section[key] = value
    return raw


@pytest.mark.parametrize(("window", "seconds"), [("1d", 86_400), ("30m", 1_800), ("2w", 1_209_600), (5_000, None)])
def test_a_window_is_a_duration_or_a_number_of_rows(window: object, seconds: int | None) -> None:
    assert parse_params(with_monitor(window=window)).monitor.window_seconds == seconds


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"window": "1 day"}, "monitor.window must be a duration such as 30m"),
        ({"window": 0}, "monitor.window must be a duration"),
        ({"alert__min_windows": 4}, "min_windows (4) must not exceed last_windows (3)"),
        ({"performance__metrics": {"f1": 0.5}}, "metrics: ['f1'] unknown"),
        ({"drift__alpha": 1.5}, "monitor.drift.alpha must be between 0 and 1"),
    ],
)
def test_a_bad_monitor_setting_is_one_line(changes: dict, message: str) -> None:
    with pytest.raises(PipelineError) as error:
        parse_params(with_monitor(**changes))
    assert message in str(error.value)
    assert "\n" not in str(error.value)
