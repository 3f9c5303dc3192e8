"""Score the base model on this revision's test set when the two were tested on different rows.

A data update (or a split change) gives the pull request another test set. The
base's metrics on its own test set and this revision's on the new one measure
different things: the gate would compare a model with the weather. So the base
branch's model, loaded verified from its commit, is scored on this revision's
test set, and the gate compares the two models on the same rows (paired, with
the bootstrap). When the base model cannot score them (the data lost a column it
needs), each side keeps its own test set and the report says so.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from .. import paths
from ..config import load_params
from ..errors import PipelineError
from ..evaluation.metrics import compute_metrics, predict
from ..evaluation.slices import slice_metrics
from ..modeling.train import load_features
from ..registry.store import load_at_commit
from .compare import Side, task_of

log = logging.getLogger(__name__)


def same_rows(base: pd.DataFrame, new: pd.DataFrame) -> bool:
    """Whether two prediction tables are of the same test rows, in the same order, with the same truth."""
    return len(base) == len(new) and base["id"].equals(new["id"]) and base["y_true"].equals(new["y_true"])


def on_this_test_set(base: Side, new: Side, base_commit: str) -> tuple[Side, str]:
    """The base side, scored on this revision's test set if the two test sets differ; and a note for the report."""
    if base.predictions is None or new.predictions is None or same_rows(base.predictions, new.predictions):
        return base, ""
    task = task_of(base)
    if task is None or task != task_of(new) or not paths.TEST_SET.exists():
        return base, ""
    try:
        version = load_at_commit(base_commit, base.label)
        test = pd.read_parquet(paths.TEST_SET)
        predictions = predict(version.model, test, version.contract)
    except (PipelineError, KeyError, ValueError) as exc:
        log.warning("the base model cannot score this revision's test set: %s", exc)
        note = (
            f"the test set changed, and the base model cannot score the new one ({str(exc).splitlines()[0]}): "
            "each model's metrics are on its own test set, which the gate compares as they are"
        )
        return base, note
    metrics = compute_metrics(predictions, task, (base.card or {}).get("classes"))
    # The slices too: this revision's slicing of the same rows, so "slices that got worse" compares like with like.
    slices = slice_metrics(test, predictions, load_features(), load_params().evaluate.slice_min_rows)
    note = (
        f"the test set changed: the base model was scored again on this revision's {len(predictions):,} test rows, "
        "so both models' metrics, slices and the gate measure the same rows (the Data table stays each side's own)"
    )
    rescored = replace(base, predictions=predictions, metrics=metrics, slices=slices, label=f"{base.label}, rescored")
    return rescored, note
