"""Render the report's plots as PNG images: the base and this revision side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..evaluation.evaluate import PLOT_STYLES
from ..evaluation.importance import importance_label, importance_value

Rows = list[dict[str, Any]]


def render_plots(
    base: dict[str, Rows],
    new: dict[str, Rows],
    labels: tuple[str, str],
    out_dir: Path,
    importance_metric: str = "the importance metric",
) -> list[str]:
    """Write one PNG per plot that has data on either side; return their file names in order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, style in PLOT_STYLES.items():
        if not (base.get(name) or new.get(name)):
            continue
        if name == "confusion_matrix":
            figure = _confusion(plt, base.get(name) or [], new.get(name) or [], labels)
        elif name == "feature_importance":
            figure = _importance(plt, base.get(name) or [], new.get(name) or [], labels, importance_metric)
        else:
            figure = _lines(plt, name, base.get(name) or [], new.get(name) or [], labels)
        figure.suptitle(style.title)
        figure.tight_layout()
        file_name = f"{name}.png"
        figure.savefig(out_dir / file_name, dpi=90, metadata={"Software": None})
        plt.close(figure)
        written.append(file_name)
    return written


def _lines(plt: Any, name: str, base: Rows, new: Rows, labels: tuple[str, str]) -> Any:
    x, y = PLOT_STYLES[name].x, PLOT_STYLES[name].y
    figure, axis = plt.subplots(figsize=(5, 4))
    style = "o" if name == "predicted_vs_actual" else "-"
    for rows, label, color in ((base, labels[0], "0.6"), (new, labels[1], "tab:blue")):
        if rows:
            axis.plot([r[x] for r in rows], [r[y] for r in rows], style, color=color, label=label, markersize=2)
    if name in ("roc", "calibration"):
        axis.plot([0, 1], [0, 1], ":", color="0.8")
    axis.set_xlabel(x)
    axis.set_ylabel(y)
    axis.legend(loc="best", fontsize="small")
    return figure


def _confusion(plt: Any, base: Rows, new: Rows, labels: tuple[str, str]) -> Any:
    figure, axes = plt.subplots(1, 2, figsize=(8, 4))
    for axis, rows, label in zip(axes, (base, new), labels, strict=True):
        axis.set_title(label, fontsize="small")
        if not rows:
            axis.axis("off")
            continue
        classes = sorted({r["actual"] for r in rows})
        counts = [
            [next(r["count"] for r in rows if r["actual"] == a and r["predicted"] == p) for p in classes]
            for a in classes
        ]
        axis.imshow(counts, cmap="Blues")
        for i, row in enumerate(counts):
            for j, count in enumerate(row):
                axis.text(j, i, str(count), ha="center", va="center", fontsize="small")
        axis.set_xticks(range(len(classes)), classes)
        axis.set_yticks(range(len(classes)), classes)
        axis.set_xlabel("predicted")
        axis.set_ylabel("actual")
    return figure


def _importance(plt: Any, base: Rows, new: Rows, labels: tuple[str, str], metric: str) -> Any:
    features = [r["feature"] for r in (new or base)][::-1]
    figure, axis = plt.subplots(figsize=(6, max(3, 0.3 * len(features))))
    for offset, rows, label, color in ((-0.2, base, labels[0], "0.6"), (0.2, new, labels[1], "tab:blue")):
        values = {r["feature"]: importance_value(r) for r in rows}
        axis.barh(
            [i + offset for i in range(len(features))],
            [values.get(f, 0.0) for f in features],
            0.4,
            color=color,
            label=label,
        )
    axis.set_yticks(range(len(features)), features, fontsize="small")
    axis.set_xlabel(importance_label(metric))
    axis.legend(loc="lower right", fontsize="small")
    return figure
