from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lockstep.io import atomic_dir, atomic_path, dumps_json, write_json


def crash_mid_write(target: Path) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text("{half")
        raise RuntimeError("crash mid-write")


def test_a_failed_write_leaves_no_file_behind(tmp_path: Path) -> None:
    target = tmp_path / "out" / "metrics.json"
    with pytest.raises(RuntimeError):
        crash_mid_write(target)
    assert list(target.parent.iterdir()) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_json({"a": 1}, target)
    with pytest.raises(RuntimeError):
        crash_mid_write(target)
    assert json.loads(target.read_text()) == {"a": 1}


def test_atomic_dir_swaps_the_whole_folder(tmp_path: Path) -> None:
    target = tmp_path / "plots"
    target.mkdir()
    (target / "old.json").write_text("[]")
    with atomic_dir(target) as tmp:
        (tmp / "new.json").write_text("[]")
    assert [p.name for p in target.iterdir()] == ["new.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["plots"]


def test_json_is_sorted_rounded_and_strict() -> None:
    text = dumps_json({"b": 1 / 3, "a": [np.float64(2.0), math.nan], "c": np.int64(4)})
    assert text == '{\n  "a": [\n    2.0,\n    null\n  ],\n  "b": 0.333333,\n  "c": 4\n}\n'
