"""The two bundles loaded (prod v0.3.0, candidate v0.4.0) and requests from the test set, for the servers under test."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.data.prepare import PreparedData
from lockstep.registry.store import ModelVersion, load_version

from tests.unit.serving.test_api import records


@pytest.fixture(scope="module")
def prod(bundle: Path) -> ModelVersion:
    return load_version(str(bundle))


@pytest.fixture(scope="module")
def candidate(candidate_bundle: Path) -> ModelVersion:
    return load_version(str(candidate_bundle))


@pytest.fixture(scope="module")
def payloads(prepared: PreparedData) -> list[dict]:
    return records(prepared.test.head(200))
