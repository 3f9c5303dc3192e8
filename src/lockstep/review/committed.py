"""Review what reproducing the commit gave, and hold the commit to it.

CI reproduces a pull request before it reports, so the work tree holds what the
revision's code, params and data produce, and the report shows those results
and the model's hash. The commit must hold the same dvc.lock and metrics/:
otherwise merging it would carry a lock that names other bytes than the ones
reviewed. When the reproduction itself failed, nothing in the work tree was
checked, so the report shows no results for this revision and the gate fails.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .. import paths
from ..config import resolve_metric
from ..evaluation.metrics import METRICS
from ..registry import lockfile
from ..registry.revision import git_bytes, resolve_commit
from .compare import Comparison, Side, compare_sides, gate_config, read_revision, read_workspace, task_of
from .datasets import dataset_section
from .gate import Verdict
from .golden import GoldenResult, golden_lines, score_golden
from .rescore import on_this_test_set
from .trigger import read_trigger

NOT_REPRODUCED = (
    "the pipeline did not reproduce (see the reproduce step's log), so nothing this revision holds was checked: "
    "the gate fails closed"
)


def review(base_rev: str, reproduced: bool = True) -> Comparison:
    """Compare the reproduced work tree with `base_rev`, and fail the gate unless the commit holds it."""
    base = read_revision(base_rev)
    if not reproduced:
        return not_reproduced(base)
    new = read_workspace()
    base, test_set_note = on_this_test_set(base, new, resolve_commit(base_rev))
    comparison = compare_sides(base, new)
    comparison = replace(
        comparison, datasets=dataset_section(base_rev), test_set_note=test_set_note, trigger=trigger_lines(base_rev)
    )
    comparison = hold_to_golden(comparison, resolve_commit(base_rev))
    committed = git_bytes(paths.EVAL_METRICS, "HEAD")
    return hold_to_commit(comparison, lockfile.uncommitted_results(), json.loads(committed) if committed else None)


def hold_to_golden(comparison: Comparison, base_commit: str) -> Comparison:
    """Score both models on the golden holdout, if the project has one; a real regression there fails the gate."""
    if comparison.task is None or comparison.verdict.base_value is None:
        return comparison
    base, new = comparison.base, comparison.new
    seed = int((base.params or new.params or {}).get("seed", 0))
    cfg = gate_config(base, new)
    result = score_golden(base_commit, comparison.task, comparison.verdict.metric, cfg, seed)
    comparison = replace(comparison, golden=golden_lines(result))
    if isinstance(result, GoldenResult) and not result.passed:
        verdict = comparison.verdict
        reason = f"on the golden holdout, {result.reason}"
        comparison = replace(comparison, verdict=replace(verdict, passed=False, reasons=[*verdict.reasons, reason]))
    return comparison


def trigger_lines(base_rev: str) -> list[str]:
    """The retrain trigger this revision adds (its metrics/trigger.json differs from the base's), as markdown."""
    mine = paths.RETRAIN_TRIGGER.read_bytes() if paths.RETRAIN_TRIGGER.is_file() else None
    trigger = read_trigger(mine)
    if trigger is None or mine == git_bytes(paths.RETRAIN_TRIGGER, base_rev):
        return []
    return trigger.markdown()


def not_reproduced(base: Side) -> Comparison:
    """The comparison when this revision could not be reproduced: the base alone, and a failed gate."""
    empty = Side("this revision (not reproduced)", None, None, None, None, None)
    task = task_of(base)
    metric = resolve_metric(gate_config(base, empty).metric, task) if task in METRICS else "primary metric"
    verdict = Verdict(False, metric, None, None, None, [NOT_REPRODUCED])
    return Comparison(base, empty, None, verdict, "")


def hold_to_commit(comparison: Comparison, stale: list[str], committed_metrics: dict[str, Any] | None) -> Comparison:
    """Fail the gate, saying why and what to run, when the commit's results differ from the reproduced ones."""
    if not stale:
        return comparison
    verdict = comparison.verdict
    reasons = [
        f"this commit's dvc.lock and outputs are not what its code, params and data produce "
        f"(after reproducing, {', '.join(stale)} differ): {lockfile.FIX_STALE}; the report shows the reproduced results"
    ]
    committed = (committed_metrics or {}).get(verdict.metric)
    reproduced = (comparison.new.metrics or {}).get(verdict.metric)
    # With a current lock, a metrics.json that differs was edited by hand: quote both values.
    edited = paths.LOCK_FILE.as_posix() not in stale and paths.EVAL_METRICS.as_posix() in stale
    if edited and committed is not None and committed != reproduced:
        reasons.insert(
            0,
            f"the committed {paths.EVAL_METRICS} says {verdict.metric} = {committed}, "
            f"but reproducing this commit gives {reproduced}",
        )
    return replace(comparison, verdict=replace(verdict, passed=False, reasons=[*reasons, *verdict.reasons]))
