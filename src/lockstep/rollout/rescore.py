"""Score logged inputs again with both versions, so the candidate and prod are compared on the same rows.

A canary's or an A/B test's arms serve different users, and with a few dozen
positives per arm, which users landed where can outweigh any difference
between the models. But a model's predictions are a function of the logged
inputs, so every labelled row can be scored by both versions and the two
compared paired, whatever arm served it. This holds as long as the served
decision does not change whether, or which, outcome is observed (the README
states it). The versions are loaded from the registry and checked against the
sha256 their log lines name, so the scores are those the versions served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..contract.rows import check_rows, record_columns
from ..errors import PipelineError
from ..registry.store import ModelVersion, load_version

# Records (the logged `inputs` of each row) in, output columns (`score`, `proba_<class>`, `label`) out.
Scorer = Callable[[list[dict[str, Any]]], Mapping[str, np.ndarray]]


def version_scorer(loaded: ModelVersion) -> Scorer:
    """Score records as the server did: the contract's checks, then `ModelVersion.predict`."""

    def score(records: list[dict[str, Any]]) -> Mapping[str, np.ndarray]:
        checked = check_rows(record_columns(records, loaded.contract), loaded.contract)
        if checked.problems:
            first = checked.problems[0]
            raise PipelineError(
                f"a logged row does not pass {loaded.version}'s contract ({first.field}: {first.message}); "
                "the logs are not of this candidate's inputs"
            )
        return loaded.predict(checked.columns)

    return score


def load_scorers(versions: Mapping[str, str]) -> dict[str, Scorer]:
    """A scorer per version (`version -> sha256` as logged), each loaded from the registry and checked."""
    scorers = {}
    for version, logged_sha256 in versions.items():
        loaded = load_version(version)
        if loaded.sha256 != logged_sha256:
            raise PipelineError(
                f"the logs name {version} with model sha256 {logged_sha256[:12]}…, the registry's is "
                f"{loaded.sha256[:12]}…: these logs are not of this registry's {version}"
            )
        scorers[version] = version_scorer(loaded)
    return scorers
