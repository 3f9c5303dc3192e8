"""The rollout report's plots: each arm's score distribution and latency, as PNG images (deterministic bytes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..config import Task
from ..contract.outputs import PROBA_PREFIX
from .compare import arms_in_order
from .evidence import Evidence

BINS = 30


def arm_scores(evidence: Evidence, arm: str) -> np.ndarray:
    """The number each row of `arm` is judged by: the positive score, the top class's score, or the prediction."""
    rows = evidence.rows[evidence.rows["arm"] == arm]
    if evidence.task == Task.BINARY:
        return rows["score"].to_numpy(dtype=float)
    if evidence.task == Task.MULTICLASS:
        return rows[[c for c in rows.columns if c.startswith(PROBA_PREFIX)]].to_numpy(dtype=float).max(axis=1)
    return rows["label"].to_numpy(dtype=float)


def render_rollout_plots(evidence: Evidence, out_dir: Path) -> list[str]:
    """Write scores.png and latency.png into `out_dir`; return the names of those with data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = arms_in_order(evidence)
    written = []
    what = {Task.BINARY: "score of the positive class", Task.MULTICLASS: "top class's score"}.get(
        evidence.task, "prediction"
    )
    scores = {arm: arm_scores(evidence, arm) for arm in arms}
    latency = {arm: evidence.requests.loc[evidence.requests["arm"] == arm, "latency_ms"].to_numpy() for arm in arms}
    for name, title, values, label in (
        ("scores", "Score distribution", scores, what),
        ("latency", "Latency", latency, "milliseconds"),
    ):
        if not any(len(v) for v in values.values()):
            continue
        figure = _histograms(plt, values, label)
        figure.suptitle(title)
        figure.tight_layout()
        figure.savefig(out_dir / f"{name}.png", dpi=90, metadata={"Software": None})
        plt.close(figure)
        written.append(f"{name}.png")
    return written


def _histograms(plt: Any, values: dict[str, np.ndarray], label: str) -> Any:
    figure, axis = plt.subplots(figsize=(5, 4))
    finite = np.concatenate([v[np.isfinite(v)] for v in values.values()] or [np.zeros(0)])
    edges = np.histogram_bin_edges(finite, bins=BINS) if len(finite) else BINS
    for arm, data in values.items():
        data = data[np.isfinite(data)]
        if len(data):
            axis.hist(data, bins=edges, histtype="step", density=True, label=f"{arm} ({len(data):,})")
    axis.set_xlabel(label)
    axis.set_ylabel("density")
    axis.legend(loc="best", fontsize="small")
    return figure
