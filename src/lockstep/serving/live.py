"""Live signals: the recent requests of each served version against its reference, computed when /metrics is read.

The request path only appends each request's rows and outputs to its version's window (`LiveWindow`, the
last `WINDOW_ROWS` rows); a scrape counts the window against the version's reference profile and exposes
each feature's drift distance, the score's, and the label-free estimate of performance (`LiveSignals`, a
custom prometheus_client collector). A version without a reference exposes nothing. The distances and
floors are the monitor's own (`monitoring.drift`), imported at the first scrape: the server starts without
SciPy and pandas. A window with no new rows since the last scrape is not counted again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .. import PACKAGE

if TYPE_CHECKING:
    import pandas as pd

    from ..evaluation.calibration import Reference
    from ..registry.store import ModelVersion

logger = logging.getLogger(__name__)
WINDOW_ROWS = 5_000  # per version: 5,000 rows x 14 features take about 17 ms to measure (docs/serving.md)
Chunk = tuple[list[dict[str, Any]], dict[str, list[Any]]]  # one request's rows and outputs


@dataclass
class Recent:
    """One version's recent requests: whole requests, oldest first, trimmed to hold at least `rows` rows."""

    loaded: ModelVersion
    chunks: deque[Chunk] = field(default_factory=deque)
    rows: int = 0
    seen: int = 0  # rows ever added: a scrape recounts the window only when it moved


@dataclass(frozen=True)
class Signals:
    """One window's measures: rows, per feature (distance, floor), the score's, and the estimated metrics."""

    rows: int
    features: dict[str, tuple[float, float]]
    score: tuple[float, float] | None
    estimates: dict[str, float]


class LiveWindow:
    """The last `rows` rows scored by each version, kept on the request path at the cost of one append."""

    def __init__(self, rows: int = WINDOW_ROWS) -> None:
        self.rows = rows
        self._recent: dict[str, Recent] = {}

    def add(self, loaded: ModelVersion, records: list[dict[str, Any]], outputs: dict[str, list[Any]]) -> None:
        """Append one request's rows and outputs to the window of `loaded` (if it has a reference to compare with)."""
        if loaded.reference_bytes is None:
            return
        recent = self._recent.get(loaded.version)
        if recent is None or recent.loaded is not loaded:
            recent = self._recent[loaded.version] = Recent(loaded)
        recent.chunks.append((records, outputs))
        recent.rows += len(records)
        recent.seen += len(records)
        while recent.rows - len(recent.chunks[0][0]) >= self.rows:
            recent.rows -= len(recent.chunks.popleft()[0])

    def windows(self, serving: set[str]) -> Iterator[tuple[str, Recent]]:
        """The windows of the versions in `serving`; the others (swapped out) are dropped."""
        for version in list(self._recent):
            if version not in serving:
                self._recent.pop(version, None)
        yield from list(self._recent.items())


def columns_of(chunks: list[Chunk], rows: int) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """The last `rows` rows of `chunks` and their outputs, one list per output column."""
    records = [record for chunk in chunks for record in chunk[0]][-rows:]
    names = chunks[-1][1].keys()
    outputs = {name: [value for chunk in chunks for value in chunk[1].get(name, [])][-rows:] for name in names}
    return records, outputs


def measure(loaded: ModelVersion, records: list[dict[str, Any]], outputs: dict[str, list[Any]]) -> Signals:
    """The drift of `records` (and their scores) from the reference of `loaded`, and the estimated metrics."""
    import numpy as np
    import pandas as pd

    from ..evaluation.reference import profiled_scores
    from ..monitoring.drift import Thresholds, categorical_score, numeric_score
    from ..monitoring.window import count_numeric, count_window, profiled_columns

    reference, thresholds = loaded.reference, Thresholds()
    assert reference is not None  # LiveWindow keeps no window for a version without one
    profile = reference.profile
    counts = count_window(profile, profiled_columns(profile, records))
    scored = {name: numeric_score(part, counts.numeric[name], thresholds) for name, part in profile.numeric.items()}
    scored |= {
        name: categorical_score(part, counts.categorical[name], thresholds)
        for name, part in profile.categorical.items()
    }
    features = {name: (score.distance, score.floor) for name, score in scored.items()}
    frame = pd.DataFrame({name: np.asarray(values) for name, values in outputs.items()})
    score = None
    if profile.score is not None:
        counted = count_numeric(profile.score, profiled_scores(frame, loaded.contract))
        score = (numeric_score(profile.score, counted, thresholds).distance, thresholds.numeric_floor)
    return Signals(len(records), features, score, estimated(reference.estimate, frame))


def estimated(reference: Reference, frame: pd.DataFrame) -> dict[str, float]:
    """The label-free point estimates (no interval: that is the costly part), or none where the reference refuses."""
    import numpy as np

    from ..config import Task
    from ..contract.outputs import SCORE, proba_column
    from ..evaluation.calibration import check_scores
    from ..monitoring.ranking import metric_names, metrics_for

    if reference.task == Task.REGRESSION or reference.refusal is not None or len(frame) < 2:
        return {}
    if reference.task == Task.BINARY:
        raw = frame[SCORE].to_numpy(dtype=float)
    else:
        raw = frame[[proba_column(name) for name in reference.classes]].to_numpy(dtype=float)
    scores = check_scores(reference.task, raw, len(reference.classes))
    probabilities = reference.calibrate(scores)
    point = metrics_for(reference, scores)(probabilities[None], np.ones((1, len(frame))))[0]
    return {name: float(point[i]) for i, name in enumerate(metric_names(reference.task))}


class LiveSignals(Collector):
    """The collector behind the live signals in /metrics: each scrape measures the windows that moved."""

    def __init__(self, window: LiveWindow, serving: Callable[[], set[str]]) -> None:
        self.window = window
        self.serving = serving
        self._lock = threading.Lock()  # two scrapes at once measure each window once
        self._measured: dict[str, tuple[Recent, int, Signals | None]] = {}
        self.seconds = 0.0

    def describe(self) -> list:
        """Nothing: so that registering does not measure (prometheus_client would call `collect`)."""
        return []

    def signals(self) -> dict[str, Signals]:
        """Each served version's signals, measured again only for a window with new rows."""
        with self._lock:
            started, found, windows = time.perf_counter(), {}, dict(self.window.windows(self.serving()))
            for version, recent in windows.items():
                cached = self._measured.get(version)
                if cached is None or cached[0] is not recent or cached[1] != recent.seen:
                    cached = self._measured[version] = (recent, recent.seen, self._measure(version, recent))
                if cached[2] is not None:
                    found[version] = cached[2]
            self._measured = {version: self._measured[version] for version in windows}
            self.seconds = time.perf_counter() - started
            return found

    def _measure(self, version: str, recent: Recent) -> Signals | None:
        """The window's signals, or None (logged) if they cannot be measured: /metrics must answer all the same."""
        try:
            return measure(recent.loaded, *columns_of(list(recent.chunks.copy()), self.window.rows))
        except Exception:  # a reference that does not read, a bug: the other metrics still reach Prometheus
            logger.exception("the live signals of %s cannot be measured", version)
            return None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges, per served version with a reference."""
        found = self.signals()
        version = ["model_version"]
        rows = gauge("drift_window_rows", "Rows in the live window (the last rows scored, per version)", version)
        distance = gauge(
            "feature_drift_distance",
            "Live window against the reference: Wasserstein/std for a number, Jensen-Shannon for a category",
            ["feature", *version],
        )
        floor = gauge("feature_drift_floor", "Effect-size floor of feature_drift_distance", ["feature", *version])
        score = gauge("score_drift_distance", "Live window's scores against the test set's: Wasserstein/std", version)
        score_floor = gauge("score_drift_floor", "Effect-size floor of score_drift_distance", version)
        estimate = gauge("performance_estimate", "Label-free estimate (CBPE) on the live window", ["metric", *version])
        for name, signals in sorted(found.items()):
            rows.add_metric([name], signals.rows)
            for feature, (value, limit) in sorted(signals.features.items()):
                distance.add_metric([feature, name], value)
                floor.add_metric([feature, name], limit)
            if signals.score is not None:
                score.add_metric([name], signals.score[0])
                score_floor.add_metric([name], signals.score[1])
            for metric, value in sorted(signals.estimates.items()):
                estimate.add_metric([metric, name], value)
        took = gauge("drift_scrape_seconds", "Time the last scrape took to measure the live windows", [])
        took.add_metric([], self.seconds)
        yield from (rows, distance, floor, score, score_floor, estimate, took)


def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    """A gauge family named with the package's prefix."""
    return GaugeMetricFamily(f"{PACKAGE}_{name}", documentation, labels=labels)
