"""The data diff between two versions: rows by id or content, and the monitor's drift test per column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lockstep.monitoring.datadiff import data_diff


def versions(shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows = 4000
    old = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(rows)],
            "x": rng.normal(size=rows),
            "y": rng.normal(size=rows),
            "kind": rng.choice(["a", "b"], size=rows),
        }
    )
    new = pd.concat([old.iloc[500:], old.iloc[:1000].assign(id=lambda f: "n" + f["id"])], ignore_index=True)
    return old, new.assign(x=new["x"] + shift)


def test_rows_are_matched_by_id_and_only_the_shifted_column_drifts() -> None:
    old, new = versions(shift=0.5)
    diff = data_diff(old, new, "id")
    assert (diff.added, diff.removed, diff.kept, diff.matched_by) == (1000, 500, 3500, "id")
    assert set(diff.drift.loc[diff.drift["drift"], "feature"]) == {"x"}


def test_without_an_id_rows_are_matched_by_content_and_an_unchanged_table_does_not_drift() -> None:
    old, _ = versions(shift=0.0)
    diff = data_diff(old, old.iloc[::-1], None)
    assert (diff.added, diff.removed, diff.kept, diff.matched_by) == (0, 0, 4000, "content")
    assert not diff.drift["drift"].any()
