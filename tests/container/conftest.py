"""The container test serves the unit tests' model bundle, built by the same fixtures."""

from tests.unit.conftest import bundle, cfg, contract, prepared, trained, trusted_types  # noqa: F401
