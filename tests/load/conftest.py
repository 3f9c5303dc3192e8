"""The load tests serve the unit tests' model and bundles, built by the same fixtures."""

from tests.unit.conftest import bundle, candidate_bundle, cfg, contract, prepared, trained, trusted_types  # noqa: F401
from tests.unit.serving.conftest import candidate, payloads, prod  # noqa: F401
