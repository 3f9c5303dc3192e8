"""An MLServer custom runtime that serves a bundle, for Seldon Core 2 (and any MLServer).

A bundle's `model-settings.json` (written by the `bundle` command) names this
class as its `implementation`; MLServer imports it and calls `load()` with the
bundle's folder as `parameters.uri` (relative URIs are read from the settings
file's folder; with none, the folder itself, which is where Seldon's agent puts
a Model's storageUri). Requests are read, checked and scored, and their outputs
written, by the functions `serve`'s own /v2 infer uses, so the scores are the
same bits as batch scoring's, provided MLServer runs in the pinned numerical
environment (numerics.py): `python -m <this module> start <folder>` starts it
there, and `load()` refuses a process outside it (unless <PACKAGE>_NUMERICS is
native). Only this module imports mlserver, and nothing imports this module:
MLServer loads it by name, in an environment of its own
(tests/clients/mlserver-requirements.txt).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mlserver import MLModel
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, Parameters, ResponseOutput
from mlserver.utils import get_model_uri

from .. import PACKAGE, numerics
from ..errors import PipelineError
from ..registry.store import MANIFEST, ModelVersion, load_version
from .oip import error_body, output_tensors, requested_outputs
from .requests import BadRequestError, check_requests, records_from_v2, sized


class BundleRuntime(MLModel):
    """A verified bundle behind MLServer's Open Inference Protocol endpoints."""

    loaded: ModelVersion

    async def load(self) -> bool:
        """Load and verify the bundle at `parameters.uri`; anything else is refused with the reason."""
        unpinned = sorted(key for key, value in numerics.settings(os.environ).items() if os.environ.get(key) != value)
        if unpinned:
            raise MLServerError(
                f"MLServer runs outside the pinned numerical environment ({', '.join(unpinned)} not as pinned), so its "
                f"scores could differ from batch scoring's: start it with `python -m {__name__} start <folder>`, "
                f"or set {numerics.SWITCH}=native",
                500,
            )
        uri = await get_model_uri(self.settings)
        if not (Path(uri) / MANIFEST).is_file():
            raise MLServerError(f"{uri} is not a bundle folder (no {MANIFEST}): make one with `{PACKAGE} bundle`", 422)
        try:
            self.loaded = load_version(uri)
        except PipelineError as exc:
            raise MLServerError(str(exc), 422) from None
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Score the request's rows as `serve`'s /v2 infer does; a refused request is an error naming why."""
        loaded, document = self.loaded, payload.model_dump()
        contract = loaded.contract
        try:
            records = sized(records_from_v2(document, contract))
            # MLServer writes outputs as JSON only: no output is sent in binary.
            requested = [(name, False) for name, _ in requested_outputs(document, contract)]
            checked = check_requests([records], contract)
        except BadRequestError as exc:
            raise MLServerError(error_body(exc)["error"], exc.status) from None
        if isinstance(checked.outcomes[0], BadRequestError):
            refused = checked.outcomes[0]
            raise MLServerError(error_body(refused)["error"], refused.status)
        scored = {name: values.tolist() for name, values in loaded.predict(checked.columns).items()}
        tensors, _ = output_tensors(scored, requested, contract)
        return InferenceResponse(
            model_name=self.name,
            model_version=loaded.version,
            id=payload.id,
            parameters=Parameters(model_sha256=loaded.sha256),
            outputs=[ResponseOutput(**tensor) for tensor in tensors],
        )


def main() -> None:
    """`python -m <this module> start <folder>`: MLServer's command, re-executed in the pinned environment."""
    numerics.pin_process()
    from mlserver.cli import main as mlserver_main

    sys.argv[0] = "mlserver"
    mlserver_main()


if __name__ == "__main__":
    main()
