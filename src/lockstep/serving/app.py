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

from .. import __version__
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


async def _score(state: ServerState, rows: Rows, loaded: ModelVersion) -> dict[str, list[Any]]:
    scored = await state.batcher.predict(loaded, rows.inputs)
    return {name: scored[name].tolist() for name in scored.columns}


def _log(
    state: ServerState, request_id: str, loaded: ModelVersion, rows: Rows, out: dict[str, list[Any]], started: float
) -> None:
    scores = out.get("score")
    state.metrics.observe_predictions(loaded.version, scores, out["label"])
    state.log.write(
        {
            "request_id": request_id,
            "time": time.time(),
            "model_version": loaded.version,
            "model_sha256": loaded.sha256,
            "ids": rows.ids,
            "inputs": rows.records,
            "outputs": out,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        }
    )


def build_routes(state: ServerState) -> list[Route]:
    """Every route of the API, bound to `state`."""

    def timed(endpoint: str, handler: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except BadRequestError as exc:
                for problem in exc.problems:
                    state.metrics.errors.labels(problem.rule).inc()
                response = json_response(exc.body(), exc.status)
            state.metrics.requests.labels(endpoint, str(response.status_code)).inc()
            state.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
            return response

        return wrapper

    async def predict_v1(request: Request) -> Response:
        started, loaded = time.perf_counter(), state.current
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        rows = checked_rows(records_from_v1(decode(await _body(request))), loaded.contract)
        out = await _score(state, rows, loaded)
        _log(state, request_id, loaded, rows, out, started)
        names = score_columns(loaded.contract)
        predictions = [
            {"id": rows.ids[i], **{name: out[name][i] for name in names}, "label": out["label"][i]}
            for i in range(len(rows.ids))
        ]
        body = {"model_version": loaded.version, "model_sha256": loaded.sha256, "predictions": predictions}
        return json_response(body, headers={"x-request-id": request_id})

    async def infer_v2(request: Request) -> Response:
        started, loaded = time.perf_counter(), state.current
        _known_model(request)
        document = decode(await _body(request))
        request_id = str(document.get("id") or uuid.uuid4().hex) if isinstance(document, dict) else uuid.uuid4().hex
        rows = checked_rows(records_from_v2(document, loaded.contract), loaded.contract)
        out = await _score(state, rows, loaded)
        _log(state, request_id, loaded, rows, out, started)
        label_type = "FP64" if loaded.contract.task == "regression" else _v2_type(out["label"])
        outputs = [
            {"name": name, "shape": [len(data)], "datatype": label_type if name == "label" else "FP64", "data": data}
            for name, data in out.items()
        ]
        body = {
            "model_name": state.name,
            "model_version": loaded.version,
            "id": request_id,
            "parameters": {"model_sha256": loaded.sha256},
            "outputs": outputs,
        }
        return json_response(body)

    def _known_model(request: Request) -> None:
        name = request.path_params["name"]
        if name != state.name:
            raise BadRequestError.single(
                "name", "unknown_model", f"no model {name!r}; this server serves {state.name!r}", 404
            )

    async def model_metadata(request: Request) -> Response:
        _known_model(request)
        contract = state.current.contract
        inputs = [{"name": r.name, "datatype": V2_DATATYPES[r.dtype], "shape": [-1]} for r in contract.columns]
        outputs = [{"name": name, "datatype": "FP64", "shape": [-1]} for name in score_columns(contract)]
        outputs.append(
            {"name": "label", "datatype": "BYTES" if contract.task != "regression" else "FP64", "shape": [-1]}
        )
        body = {
            "name": state.name,
            "versions": [state.current.version],
            "platform": "scikit-learn",
            "inputs": inputs,
            "outputs": outputs,
        }
        return json_response(body)

    async def live(request: Request) -> Response:
        return json_response({"live": True})

    async def ready(request: Request) -> Response:
        return json_response({"ready": True, "model_version": state.current.version})

    async def server_metadata(request: Request) -> Response:
        return json_response({"name": "lockstep", "version": __version__, "extensions": []})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi(request: Request) -> Response:
        return json_response(openapi_document(state.current.contract, state.current.version))

    async def swap_model(request: Request) -> Response:
        if state.admin_token is None:
            raise BadRequestError.single(
                "authorization", "disabled", "hot swap is off: start the server with a token", 404
            )
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), state.admin_token.encode()):
            raise BadRequestError.single(
                "authorization", "token", "a valid `Authorization: Bearer <token>` is required", 401
            )
        document = decode(await _body(request))
        ref = document.get("model") if isinstance(document, dict) else None
        if not isinstance(ref, str):
            raise BadRequestError.single(
                "model", "missing", 'the body must be {"model": "<bundle folder, version or stage>"}'
            )
        try:
            loaded = await asyncio.to_thread(load_version, ref)
        except PipelineError as exc:
            raise BadRequestError.single("model", "verification", str(exc)) from None
        previous, state.current = state.current.version, loaded
        return json_response({"model_version": loaded.version, "model_sha256": loaded.sha256, "previous": previous})

    plain = [
        ("/v1/predict", predict_v1, ["POST"]),
        ("/v2/models/{name}/infer", infer_v2, ["POST"]),
        ("/v2/models/{name}", model_metadata, ["GET"]),
        ("/v2/health/live", live, ["GET"]),
        ("/v2/health/ready", ready, ["GET"]),
        ("/v2", server_metadata, ["GET"]),
        ("/metrics", metrics, ["GET"]),
        ("/openapi.json", openapi, ["GET"]),
        ("/admin/model", swap_model, ["POST"]),
    ]
    return [Route(path, timed(path, handler), methods=methods) for path, handler, methods in plain]


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

    app = Starlette(routes=build_routes(state), lifespan=lifespan)
    app.state.server = state
    return app
