"""The HTTP API: Starlette routes around the micro-batcher, with msgspec for JSON.

`POST /v1/predict`, the Open Inference Protocol v2 subset, `/metrics`,
`/openapi.json`, and `POST /admin/model` (a hot swap, with a token). A bad
request gets a 4xx whose body names the field and the rule; every response
names the model version that produced it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import PACKAGE, __version__
from ..errors import PipelineError
from ..modeling.predict import score_columns
from ..store import ModelVersion, load_version
from .batcher import MicroBatcher
from .observe import Metrics, PredictionLog
from .openapi import openapi_document
from .requests import V2_DATATYPES, BadRequestError, Rows, checked_rows, decode, records_from_v1, records_from_v2

MAX_BODY_BYTES = 8 * 1024 * 1024
Handler = Callable[[Request], Awaitable[Response]]


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded by msgspec (floats round-trip exactly)."""
    return Response(msgspec.json.encode(content), status, headers, media_type="application/json")


@dataclass
class ServerState:
    """What the handlers share: the current model (swapped whole), and the server's helpers."""

    current: ModelVersion
    name: str
    batcher: MicroBatcher
    metrics: Metrics
    log: PredictionLog
    admin_token: str | None


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequestError.single("$", "too_large", f"the body is over {MAX_BODY_BYTES} bytes", 413)
    return await request.body()


class Api:
    """The request handlers, around one ServerState.

    Each handler reads `state.current` once, so a request is answered entirely
    by the model that was current when it arrived.
    """

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        """Every route, each counted and timed in /metrics."""
        table = [
            ("/v1/predict", self.predict_v1, ["POST"]),
            ("/v2/models/{name}/infer", self.infer_v2, ["POST"]),
            ("/v2/models/{name}", self.model_metadata, ["GET"]),
            ("/v2/health/live", self.live, ["GET"]),
            ("/v2/health/ready", self.ready, ["GET"]),
            ("/v2", self.server_metadata, ["GET"]),
            ("/metrics", self.metrics, ["GET"]),
            ("/openapi.json", self.openapi, ["GET"]),
            ("/admin/model", self.swap_model, ["POST"]),
        ]
        return [Route(path, self._timed(path, handler), methods=methods) for path, handler, methods in table]

    def _timed(self, endpoint: str, handler: Handler) -> Handler:
        metrics = self.state.metrics

        async def wrapper(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except BadRequestError as exc:
                for problem in exc.problems:
                    metrics.errors.labels(problem.rule).inc()
                response = json_response(exc.body(), exc.status)
            metrics.requests.labels(endpoint, str(response.status_code)).inc()
            metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
            return response

        return wrapper

    async def _predict(self, rows: Rows, loaded: ModelVersion, request_id: str, started: float) -> dict[str, list]:
        """Score `rows` with `loaded` (micro-batched), then count and log the predictions."""
        scored = await self.state.batcher.predict(loaded, rows.inputs)
        out = {name: scored[name].tolist() for name in scored.columns}
        self.state.metrics.observe_predictions(loaded.version, out.get("score"), out["label"])
        entry = {
            "request_id": request_id,
            "time": time.time(),
            "model_version": loaded.version,
            "model_sha256": loaded.sha256,
            "ids": rows.ids,
            "inputs": rows.records,
            "outputs": out,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        self.state.log.write(entry)
        return out

    async def predict_v1(self, request: Request) -> Response:
        """POST /v1/predict: one record or a list of records."""
        started, loaded = time.perf_counter(), self.state.current
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        rows = checked_rows(records_from_v1(decode(await _body(request))), loaded.contract)
        out = await self._predict(rows, loaded, request_id, started)
        predictions = [{"id": row_id} | {name: out[name][i] for name in out} for i, row_id in enumerate(rows.ids)]
        body = {"model_version": loaded.version, "model_sha256": loaded.sha256, "predictions": predictions}
        return json_response(body, headers={"x-request-id": request_id})

    async def infer_v2(self, request: Request) -> Response:
        """POST /v2/models/{name}/infer: the Open Inference Protocol's columnar request."""
        started, loaded = time.perf_counter(), self.state.current
        self._known_model(request)
        document = decode(await _body(request))
        request_id = str(document.get("id") or uuid.uuid4().hex) if isinstance(document, dict) else uuid.uuid4().hex
        rows = checked_rows(records_from_v2(document, loaded.contract), loaded.contract)
        out = await self._predict(rows, loaded, request_id, started)
        label_type = "FP64" if loaded.contract.task == "regression" else _v2_type(out["label"])
        outputs = [
            {"name": name, "shape": [len(data)], "datatype": label_type if name == "label" else "FP64", "data": data}
            for name, data in out.items()
        ]
        body = {
            "model_name": self.state.name,
            "model_version": loaded.version,
            "id": request_id,
            "parameters": {"model_sha256": loaded.sha256},
            "outputs": outputs,
        }
        return json_response(body)

    def _known_model(self, request: Request) -> None:
        name = request.path_params["name"]
        if name != self.state.name:
            message = f"no model {name!r}; this server serves {self.state.name!r}"
            raise BadRequestError.single("name", "unknown_model", message, 404)

    async def model_metadata(self, request: Request) -> Response:
        """GET /v2/models/{name}: the inputs and outputs, as OIP tensors."""
        self._known_model(request)
        loaded = self.state.current
        contract = loaded.contract
        inputs = [{"name": r.name, "datatype": V2_DATATYPES[r.dtype], "shape": [-1]} for r in contract.columns]
        outputs = [{"name": name, "datatype": "FP64", "shape": [-1]} for name in score_columns(contract)]
        label_type = "FP64" if contract.task == "regression" else "BYTES"
        outputs.append({"name": "label", "datatype": label_type, "shape": [-1]})
        body = {
            "name": self.state.name,
            "versions": [loaded.version],
            "platform": "scikit-learn",
            "inputs": inputs,
            "outputs": outputs,
        }
        return json_response(body)

    async def live(self, request: Request) -> Response:
        """GET /v2/health/live."""
        return json_response({"live": True})

    async def ready(self, request: Request) -> Response:
        """GET /v2/health/ready: a verified model is loaded (the server does not start without one)."""
        return json_response({"ready": True, "model_version": self.state.current.version})

    async def server_metadata(self, request: Request) -> Response:
        """GET /v2."""
        return json_response({"name": PACKAGE, "version": __version__, "extensions": []})

    async def metrics(self, request: Request) -> Response:
        """GET /metrics, in Prometheus' text format."""
        return Response(generate_latest(self.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi(self, request: Request) -> Response:
        """GET /openapi.json, generated from the current model's contract."""
        return json_response(openapi_document(self.state.current.contract, self.state.current.version))

    async def swap_model(self, request: Request) -> Response:
        """POST /admin/model {"model": ref}: load and verify `ref`, then serve it (with the admin token)."""
        token = self.state.admin_token
        if token is None:
            raise BadRequestError.single("authorization", "disabled", "hot swap is off: start with a token", 404)
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            message = "a valid `Authorization: Bearer <token>` is required"
            raise BadRequestError.single("authorization", "token", message, 401)
        document = decode(await _body(request))
        ref = document.get("model") if isinstance(document, dict) else None
        if not isinstance(ref, str):
            message = 'the body must be {"model": "<bundle folder, version or stage>"}'
            raise BadRequestError.single("model", "missing", message)
        try:
            loaded = await asyncio.to_thread(load_version, ref)
        except PipelineError as exc:
            raise BadRequestError.single("model", "verification", str(exc)) from None
        previous, self.state.current = self.state.current.version, loaded
        return json_response({"model_version": loaded.version, "model_sha256": loaded.sha256, "previous": previous})


def _v2_type(labels: list[Any]) -> str:
    if all(isinstance(v, bool) for v in labels):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        return "INT64"
    return "FP64" if all(isinstance(v, float) for v in labels) else "BYTES"


def create_app(
    loaded: ModelVersion, prediction_log: Path, admin_token: str | None = None, name: str = "model"
) -> Starlette:
    """The ASGI app serving `loaded`; the batcher runs and the log is flushed within its lifespan."""
    state = ServerState(loaded, name, MicroBatcher(), Metrics(), PredictionLog(prediction_log), admin_token)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.batcher.start()
        try:
            yield
        finally:
            await state.batcher.stop()
            state.log.close()

    app = Starlette(routes=Api(state).routes(), lifespan=lifespan)
    app.state.server = state
    return app
