"""Run the API with uvicorn: load and verify the model first, shut down gracefully.

uvicorn stops accepting connections on SIGTERM or SIGINT and waits for the
requests in flight (up to `GRACE_SECONDS`); the app's lifespan then drains the
micro-batcher and flushes the prediction log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import PACKAGE
from ..store import load_version
from .app import create_app

# <PACKAGE>_ADMIN_TOKEN: named after the package, as the numerics switch is.
ADMIN_TOKEN_ENV = f"{PACKAGE.upper()}_ADMIN_TOKEN"
GRACE_SECONDS = 30


def build_server(ref: str, host: str, port: int, prediction_log: Path) -> Any:
    """A uvicorn Server for the model `ref` names; raises PipelineError if it fails verification."""
    import uvicorn

    loaded = load_version(ref)  # refuses a model that does not match its record: the server never starts
    app = create_app(loaded, prediction_log, admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    return uvicorn.Server(config)
