"""The HTTP API: Starlette routes around the micro-batcher, with msgspec for JSON.

`POST /v1/predict`, the Open Inference Protocol v2 subset, `POST /v1/feedback`
(late outcomes), `/metrics`, `/openapi.json`, and the admin endpoints
(`admin.py`). A bad request gets a 4xx whose body names the field and the
rule; every response names the arm (`prod`, `canary`) and the model version
that produced it. Requests are routed by the server's `RoutingTable`
(`routing.py`); a shadow scores them off the request path (`shadow.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import PACKAGE, __version__
from ..config import RolloutConfig
from ..contract.prediction_log import FEEDBACK_FILE, PredictionRecord, shadow_log
from ..registry.store import ModelVersion
from . import oip
from .admin import Admin, ReloadSource
from .batcher import MicroBatcher
from .feedback import feedback_records
from .http import body_bytes, json_response
from .log_spool import LogSpool
from .object_store import ObjectStore
from .observe import Metrics
from .openapi import openapi_document
from .prediction_log import PredictionLog
from .requests import BadRequestError, decode, records_from_v1, records_from_v2, row_ids, sized
from .routing import Router, RoutingTable, sticky_value
from .shadow import ShadowScorer
from .shadow_process import ShadowJob
from .state import ServerState
from .timeouts import BODY_TIMEOUT_SECONDS, BodyReadTimeout
from .unhandled import INTERNAL_ERROR, no_route, server_error

ARM_HEADER = "x-model-arm"
Handler = Callable[[Request], Awaitable[Response]]
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """One request's answer: the rows' ids (as logged) and the outputs."""

    ids: list[Any]
    outputs: dict[str, list[Any]]


class Api:
    """The request handlers, around one ServerState.

    Each handler reads `state.router.table` once, so a request is routed and
    answered entirely under the table that was current when it arrived.
    """

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        """Every route, each counted and timed in /metrics."""
        table = [
            ("/v1/predict", self.predict_v1, ["POST"]),
            ("/v2/models/{name}/infer", self.infer_v2, ["POST"]),
            ("/v2/models/{name}/versions/{version}/infer", self.infer_v2, ["POST"]),
            ("/v2/models/{name}", self.model_metadata, ["GET"]),
            ("/v2/models/{name}/versions/{version}", self.model_metadata, ["GET"]),
            ("/v2/models/{name}/ready", self.model_ready, ["GET"]),
            ("/v2/models/{name}/versions/{version}/ready", self.model_ready, ["GET"]),
            ("/v2/health/live", self.live, ["GET"]),
            ("/v2/health/ready", self.ready, ["GET"]),
            ("/v2", self.server_metadata, ["GET"]),
            ("/metrics", self.metrics, ["GET"]),
            ("/openapi.json", self.openapi, ["GET"]),
            ("/v1/feedback", self.feedback, ["POST"]),
            *Admin(self.state).routes(),
        ]
        return [Route(path, self._timed(path, handler), methods=methods) for path, handler, methods in table]

    def _timed(self, endpoint: str, handler: Handler) -> Handler:
        metrics = self.state.metrics
        metrics.track(endpoint)
        # The Open Inference Protocol's errors are one string, `{"error": "..."}`, as its clients read them.
        error_shape = oip.error_body if endpoint.startswith("/v2") else BadRequestError.body

        async def wrapper(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except BadRequestError as exc:
                for problem in exc.problems:
                    metrics.errors.labels(problem.rule).inc()
                response = json_response(error_shape(exc), exc.status, _closing(exc.status))
            except Exception:  # a bug or a failing model: counted, logged, and answered in the endpoint's shape
                logger.exception("%s %s failed", request.method, request.url.path)
                error = BadRequestError.single("$", "internal", INTERNAL_ERROR, 500)
                response = json_response(error_shape(error), 500)
            metrics.answered(endpoint, response.status_code, time.perf_counter() - started)
            return response

        return wrapper

    async def _predict(
        self,
        records: list[dict[str, Any]],
        arm: str,
        loaded: ModelVersion,
        request_id: str,
        started: float,
        row_key: str | None = None,
    ) -> Answer:
        """Check and score `records` with `loaded` (micro-batched), then count and log the predictions.

        A row without an id column's value gets `<row_key>:<i>` (`row_key`: `request_id` unless given).
        """
        try:
            out = await self.state.batcher.predict(loaded, records)
        except BadRequestError as exc:
            if exc.status == 422:  # the contract refused the rows: logged with the rules broken, for the monitor
                refused = sorted({problem.rule for problem in exc.problems})
                self._log(loaded, arm, request_id, started, records, Answer([], {}), refused)
            raise
        ids = row_ids(records, loaded.contract, row_key or request_id)
        metrics, elapsed = self.state.metrics, time.perf_counter() - started
        metrics.observe_predictions(loaded.version, out.get("score"), out["label"])
        metrics.arm_requests.labels(arm, loaded.version).inc()
        metrics.arm_latency.labels(arm).observe(elapsed)
        self.state.live.add(loaded, records, out)
        self._log(loaded, arm, request_id, started, records, Answer(ids, out))
        return Answer(ids, out)

    def _log(
        self,
        loaded: ModelVersion,
        arm: str,
        request_id: str,
        started: float,
        records: list[dict[str, Any]],
        answer: Answer,
        refused: list[str] | None = None,
    ) -> None:
        """Append the request's record to the prediction log (queued: off the request's path)."""
        record = PredictionRecord(
            request_id=request_id,
            time=time.time(),
            arm=arm,
            model_version=loaded.version,
            model_sha256=loaded.sha256,
            ids=answer.ids,
            inputs=records,
            outputs=answer.outputs,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            refused=refused,
        )
        self.state.log.write(record)

    def _shadow(
        self, table: RoutingTable, body: bytes, protocol: str, scored: Answer, request_id: str, started: float
    ) -> None:
        """Hand the request's body to the shadow, if the table has one (never waits)."""
        if table.shadow is not None:
            arrived = time.time() - (time.perf_counter() - started)  # wall clock: the shadow's process reads it
            job = ShadowJob(body, protocol, scored.ids, request_id, arrived, table.rollout.shadow_budget_ms)
            self.state.router.shadow.offer(table.shadow, job, table.rollout.shadow_queue)

    async def predict_v1(self, request: Request) -> Response:
        """POST /v1/predict: one record or a list of records."""
        started, table = time.perf_counter(), self.state.router.table
        # Row ids come from the server's own key: a client's x-request-id may repeat (it is logged as request_id).
        key = uuid.uuid4().hex
        request_id = request.headers.get("x-request-id") or key
        body = await body_bytes(request)
        records = records_from_v1(decode(body))
        if not records:  # an empty list: no rows to score, so no predictions (and nothing logged)
            answer = {"arm": "prod", "model_version": table.prod.version, "model_sha256": table.prod.sha256}
            return json_response(answer | {"predictions": []}, headers={"x-request-id": request_id, ARM_HEADER: "prod"})
        sized(records)
        arm, loaded = table.choose(sticky_value(records, table.rollout.sticky_key, request_id))
        scored = await self._predict(records, arm, loaded, request_id, started, key)
        self._shadow(table, body, "v1", scored, request_id, started)
        out = scored.outputs
        predictions = [{"id": row_id} | {name: out[name][i] for name in out} for i, row_id in enumerate(scored.ids)]
        answer = {"arm": arm, "model_version": loaded.version, "model_sha256": loaded.sha256}
        answer["predictions"] = predictions
        return json_response(answer, headers={"x-request-id": request_id, ARM_HEADER: arm})

    async def infer_v2(self, request: Request) -> Response:
        """POST /v2/models/{name}[/versions/{version}]/infer: the Open Inference Protocol's columnar request."""
        started, table = time.perf_counter(), self.state.router.table
        named = oip.named_version(request, self.state.name, table)
        infer = oip.read_infer_body(await body_bytes(request), request.headers.get(oip.HEADER_LENGTH))
        contract = (named[1] if named else table.prod).contract
        records = records_from_v2(infer.document, contract)
        client_id = infer.document.get("id")
        # The log's request id is the server's own, so that row ids stay unique whatever `id` a client sends.
        request_id = uuid.uuid4().hex
        arm, loaded = named or table.choose(sticky_value(records, table.rollout.sticky_key, client_id or request_id))
        if loaded.contract is not contract:  # the candidate's contract may type a column otherwise
            records = records_from_v2(infer.document, loaded.contract)
        requested = oip.requested_outputs(infer.document, loaded.contract)
        scored = await self._predict(sized(records), arm, loaded, request_id, started)
        self._shadow(table, infer.json, "v2", scored, request_id, started)
        outputs, binary = oip.output_tensors(scored.outputs, requested, loaded.contract)
        answer = {
            "model_name": self.state.name,
            "model_version": loaded.version,
            "id": request_id if client_id is None else str(client_id),
            "parameters": {"model_sha256": loaded.sha256, "arm": arm},
            "outputs": outputs,
        }
        return oip.infer_response(answer, binary, {ARM_HEADER: arm, "x-request-id": request_id})

    async def feedback(self, request: Request) -> Response:
        """POST /v1/feedback: late outcomes, `{"id", "outcome"}` or a list, appended to the feedback log."""
        outcomes = feedback_records(decode(await body_bytes(request)), self.state.router.table.prod.contract)
        for outcome in outcomes:
            self.state.feedback.write(outcome)
        return json_response({"recorded": len(outcomes)})

    async def model_metadata(self, request: Request) -> Response:
        """GET /v2/models/{name}[/versions/{version}]: the inputs and outputs, as OIP tensors."""
        table = self.state.router.table
        named = oip.named_version(request, self.state.name, table)
        return json_response(oip.model_metadata(self.state.name, table, named[1] if named else table.prod))

    async def model_ready(self, request: Request) -> Response:
        """GET /v2/models/{name}[/versions/{version}]/ready: 200 when it answers (a verified model is loaded)."""
        oip.named_version(request, self.state.name, self.state.router.table)
        return json_response({"name": self.state.name, "ready": True})

    async def live(self, request: Request) -> Response:
        """GET /v2/health/live."""
        return json_response({"live": True})

    async def ready(self, request: Request) -> Response:
        """GET /v2/health/ready: a verified model is loaded (the server does not start without one)."""
        return json_response({"ready": True, "model_version": self.state.router.table.prod.version})

    async def server_metadata(self, request: Request) -> Response:
        """GET /v2."""
        return json_response({"name": PACKAGE, "version": __version__, "extensions": oip.EXTENSIONS})

    async def metrics(self, request: Request) -> Response:
        """GET /metrics, in Prometheus' text format (off the event loop: the live signals take milliseconds)."""
        text = await asyncio.to_thread(generate_latest, self.state.metrics.registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    async def openapi(self, request: Request) -> Response:
        """GET /openapi.json, generated from the contract of the current `prod` and the versions that answer."""
        table = self.state.router.table
        versions = [loaded.version for _, loaded in oip.answering(table)]
        return json_response(openapi_document(table.prod.contract, table.prod.version, self.state.name, versions))


def _closing(status: int) -> dict[str, str] | None:
    """A 408's headers: the client stopped sending mid-request, so the connection cannot be read further."""
    return {"connection": "close"} if status == 408 else None


def create_app(
    serving: ModelVersion | RoutingTable,
    prediction_log: Path,
    admin_token: str | None = None,
    name: str = "model",
    reload_source: ReloadSource | None = None,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    log_store: ObjectStore | None = None,
) -> Starlette:
    """The ASGI app serving `serving`: one version, or a rollout's routing table.

    The batcher, the shadow and the SIGHUP reload run, and the logs are flushed, within its lifespan; the
    log's spool seals closed segments and ships them to `log_store` (`log_spool.py`).
    A request's body must keep arriving: a wait over `body_timeout` seconds for its next part is a 408.
    """
    table = serving if isinstance(serving, RoutingTable) else RoutingTable(RolloutConfig(), serving)
    metrics, log = Metrics(), PredictionLog(prediction_log)
    feedback = PredictionLog(prediction_log.parent / FEEDBACK_FILE)
    spool = LogSpool(prediction_log.parent, log_store)
    router = Router(table, ShadowScorer(metrics, log, shadow_log(prediction_log)))
    state = ServerState(router, name, MicroBatcher(), metrics, log, feedback, admin_token, reload_source)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.batcher.start()
        router.shadow.start()
        spool.start()
        reloading = Admin(state).reload_on_sighup()
        try:
            yield
        finally:
            if reloading:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            await state.batcher.stop()
            await router.shadow.stop()
            state.log.close()
            state.feedback.close()
            await asyncio.to_thread(spool.stop)  # the last segments: sealed, and shipped if the store answers

    unrouted = {404: no_route, 405: no_route}
    app = Starlette(routes=Api(state).routes(), lifespan=lifespan, exception_handlers=unrouted)
    app.state.server = state
    app.add_middleware(BodyReadTimeout, seconds=body_timeout)
    app.add_exception_handler(Exception, server_error(metrics, app.routes))
    return app
