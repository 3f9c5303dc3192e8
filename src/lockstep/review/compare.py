"""Compare: gather what the workspace and a base revision hold, and run the gate.

Metrics, params and plots are in Git, so the base's come from `git show`; the
slices, the model card and the test-set predictions are DVC-cached, so the
base's come through DVC (from the local cache, or the remote). The model's
hash is the one its dvc.lock records, so a reviewer can follow the bytes.
"""

from __future__ import annotations

import io
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .. import paths
from ..config import GateConfig, load_params, parse_gate, resolve_metric
from ..errors import PipelineError
from ..evaluation.evaluate import PLOT_STYLES
from ..evaluation.metrics import LOWER_IS_BETTER, METRICS, Scored, metric_for
from ..evaluation.slices import SLICE_METRICS
from ..io import file_md5
from ..registry import lockfile
from ..registry.revision import Revision, resolve_commit
from .bootstrap import Interval, paired_bootstrap
from .gate import Verdict, decide

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Side:
    """What one revision holds of the pipeline's results; None where absent or unreadable."""

    label: str
    metrics: dict[str, float] | None
    data: dict[str, float] | None
    params: dict[str, Any] | None
    slices: dict[str, Any] | None
    card: dict[str, Any] | None
    plots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    predictions: pd.DataFrame | None = None
    model_md5: str | None = None


@dataclass(frozen=True)
class Comparison:
    """The workspace against the base, with the gate's verdict."""

    base: Side
    new: Side
    task: str | None
    verdict: Verdict
    interval_note: str
    # The report's Datasets section (review/datasets.py): the published dataset versions this revision moved.
    datasets: list[str] = field(default_factory=list)
    # When the base was tested on other rows: whether it was scored again on this revision's (review/rescore.py).
    test_set_note: str = ""
    # A retrain's cause and evidence (metrics/trigger.json, when it differs from the base's): the report opens with it.
    trigger: list[str] = field(default_factory=list)
    # Both models on the frozen golden holdout (review/golden.py): the report's section.
    golden: list[str] = field(default_factory=list)


def _parse(raw: bytes | None, loader: Any) -> Any:
    """`loader(raw)`, or None when the file is absent or unreadable (the gate then fails closed)."""
    if raw is None:
        return None
    try:
        return loader(raw)
    except (ValueError, OSError, yaml.YAMLError):
        return None


def _read_side(label: str, read_git: Any, read_dvc: Any, model_md5: str | None) -> Side:
    """Metrics, params and plots are in Git; slices, the card and predictions are DVC-cached."""
    plots = {name: _parse(read_git(paths.plot_file(name)), json.loads) or [] for name in PLOT_STYLES}
    predictions = _parse(read_dvc(paths.PREDICTIONS), lambda raw: pd.read_parquet(io.BytesIO(raw)))
    return Side(
        label=label,
        metrics=_parse(read_git(paths.EVAL_METRICS), json.loads),
        data=_parse(read_git(paths.DATA_METRICS), json.loads),
        params=_parse(read_git(paths.PARAMS_FILE), yaml.safe_load),
        slices=_parse(read_dvc(paths.SLICE_METRICS), json.loads),
        card=_parse(read_dvc(paths.MODEL_CARD), json.loads),
        plots=plots,
        predictions=predictions,
        model_md5=model_md5,
    )


def read_workspace(label: str = "this revision") -> Side:
    """The results in the working tree."""

    def read(path: Path) -> bytes | None:
        return path.read_bytes() if path.is_file() else None

    return _read_side(label, read, read, file_md5(paths.MODEL_FILE))


def read_revision(rev: str) -> Side:
    """The results committed at `rev` (a branch, tag or commit)."""
    try:
        commit = resolve_commit(rev)
    except PipelineError:
        raise PipelineError(f"base revision {rev!r} not found; fetch it first (git fetch origin main)") from None
    with Revision(commit) as revision:

        def read_dvc(path: Path) -> bytes | None:
            try:
                return revision.dvc(path)
            except Exception as exc:  # missing, no credentials, no network: all mean "not available"
                log.warning("%s at %s unavailable (%s): not in the cache or the remote", path, rev, type(exc).__name__)
                return None

        return _read_side(
            f"{rev} ({commit[:7]})", revision.git, read_dvc, lockfile.locked_md5(paths.MODEL_FILE, commit)
        )


def gate_config(base: Side, new: Side) -> GateConfig:
    """The gate's thresholds from the base branch, so a change cannot loosen its own gate.

    Only the base's `gate:` mapping is read (the rest of its params may predate
    this revision's schema). A key the base does not set (it predates the key)
    takes this revision's value. A base whose gate does not parse fails closed;
    a base with no params at all (a first commit) falls back to this revision's.
    """
    own = new.params.get("gate") if isinstance(new.params, dict) else None
    if not isinstance(own, dict):
        own = load_params().gate.model_dump(mode="json")
    based = base.params.get("gate", {}) if isinstance(base.params, dict) else {}
    try:
        return parse_gate({**own, **based} if isinstance(based, dict) else based)
    except PipelineError as exc:
        raise PipelineError(f"the base branch's gate settings do not parse ({exc}): the gate fails closed") from None


def task_of(side: Side) -> str | None:
    """The task that a side's model card records."""
    return (side.card or {}).get("task")


def ignored_gate_changes(base: Side, new: Side) -> list[tuple[str, Any, Any]]:
    """(key, base value, new value) for each `gate:` setting this revision changes; the base's apply."""
    if base.params is None:  # no base settings: this revision's own apply
        return []
    return [change for change in changed_params(base, new) if change[0].startswith("gate.")]


def paired_interval(
    base: Side, new: Side, task: str, metric: str, cfg: GateConfig, seed: int
) -> tuple[Interval | None, str]:
    """The bootstrap interval of new - base, or None and the reason it cannot be computed."""
    if base.predictions is None or new.predictions is None:
        return None, "no test-set predictions for one side"
    b, n = base.predictions, new.predictions
    if len(b) != len(n) or not (b["id"].equals(n["id"]) and b["y_true"].equals(n["y_true"])):
        return None, "the two revisions were tested on different rows"
    classes = (new.card or {}).get("classes")
    scored_base = Scored.from_frame(b, task, classes)
    scored_new = Scored.from_frame(n, task, classes)
    try:
        interval = paired_bootstrap(
            scored_base, scored_new, METRICS[task][metric], cfg.bootstrap_resamples, cfg.confidence, seed
        )
    except ValueError as exc:
        return None, str(exc)
    return interval, f"paired bootstrap, {interval.resamples} resamples of {len(n):,} test rows"


def metric_value(metrics: dict[str, Any] | None, name: str) -> float | None:
    """A metric's value as a number; None when absent or not a number (a string, say): the gate fails closed."""
    value = (metrics or {}).get(name) if isinstance(metrics, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _closed(base: Side, new: Side, metric: str | None, reason: str) -> Comparison:
    return Comparison(base, new, None, Verdict(False, metric or "primary metric", None, None, None, [reason]), "")


def compare_sides(base: Side, new: Side) -> Comparison:
    """Compare two revisions' results and decide the gate.

    The task is the base's when it has a model, and the metric is the base's
    `gate.metric`: a change cannot pick the metric it is judged on. The new value is recomputed from
    the test-set predictions when they are present, so an edited metrics.json
    cannot pass either.
    """
    cfg = gate_config(base, new)
    new_task, base_task = task_of(new), task_of(base)
    task = base_task or new_task
    if new_task is None:
        reason = f"this revision has no readable model card ({paths.MODEL_CARD}): the gate fails closed"
        return _closed(base, new, None, reason)
    if task not in METRICS:
        return _closed(base, new, None, f"the model card names an unknown task {task!r}: the gate fails closed")
    try:
        metric, function = metric_for(cfg.metric, task, "gate.metric")
    except PipelineError as exc:
        return _closed(base, new, resolve_metric(cfg.metric, task), f"{exc}: the gate fails closed")
    if new_task != task:
        return _closed(base, new, metric, f"the task changed from {task} to {new_task}: the gate cannot compare them")
    new_value = metric_value(new.metrics, metric)
    if new.predictions is not None and new_value is not None:
        scored = Scored.from_frame(new.predictions, task, (new.card or {}).get("classes"))
        recomputed = function(scored)
        if not math.isclose(recomputed, new_value, abs_tol=1e-5):
            return _closed(
                base, new, metric, f"metrics.json says {metric} = {new_value} but the predictions give {recomputed:.6f}"
            )
    base_value = metric_value(base.metrics, metric) if base_task else None
    interval, note = (None, "no base model")
    if base_value is not None:
        # The base's seed, like its thresholds: a change cannot pick a lucky resampling.
        seed = int((base.params or new.params or {}).get("seed", 0))
        interval, note = paired_interval(base, new, task, metric, cfg, seed)
    return Comparison(base, new, task, decide(metric, new_value, base_value, interval, cfg), note)


def worse_slices(comparison: Comparison, tolerance: float) -> list[dict[str, Any]]:
    """Slices whose main slice metric fell by more than `tolerance` against the base."""
    if comparison.task is None or not comparison.base.slices or not comparison.new.slices:
        return []
    metric = SLICE_METRICS[comparison.task][0]
    sign = -1 if metric in LOWER_IS_BETTER else 1
    rows = []
    for feature, values in sorted(comparison.new.slices.items()):
        for value, new in sorted(values.items()):
            base = comparison.base.slices.get(feature, {}).get(value)
            if base is None or new.get(metric) is None or base.get(metric) is None:
                continue
            delta = new[metric] - base[metric]
            if sign * delta < -tolerance:
                rows.append(
                    {
                        "feature": feature,
                        "value": value,
                        "rows": new["rows"],
                        "metric": metric,
                        "base": base[metric],
                        "new": new[metric],
                        "delta": delta,
                    }
                )
    return rows


def changed_params(base: Side, new: Side) -> list[tuple[str, Any, Any]]:
    """(key, base value, new value) for every param that differs, keys flattened with dots."""
    flat_base, flat_new = flatten_keys(base.params or {}), flatten_keys(new.params or {})
    keys = sorted(set(flat_base) | set(flat_new))
    return [(k, flat_base.get(k), flat_new.get(k)) for k in keys if flat_base.get(k) != flat_new.get(k)]


def flatten_keys(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested mapping as one level, its keys joined with dots."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= flatten_keys(value, f"{name}.")
        else:
            flat[name] = value
    return flat
