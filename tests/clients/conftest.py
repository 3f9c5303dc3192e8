"""The real-client tests serve the unit tests' bundle, and compare with `lockstep predict` on the same rows."""

from tests.unit.conftest import bundle, cfg, contract, prepared, trained, trusted_types  # noqa: F401
from tests.unit.serving.conftest import prod  # noqa: F401
from tests.unit.serving.test_oip_tritonclient import predicted, rows  # noqa: F401
