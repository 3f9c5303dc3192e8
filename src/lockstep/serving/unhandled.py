"""What answers when no handler does: a path or method no route takes, and an exception no handler caught."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from .http import json_response
from .observe import Metrics
from .oip import error_body
from .requests import BadRequestError

INTERNAL_ERROR = "the server failed to answer this request; its log has the traceback"


async def no_route(request: Request, exc: Exception) -> Response:
    """A path, or a method, that no route takes: a JSON 404 or 405 in the error shape of the API it is under."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    message = f"no route for {path}" if exc.status_code == 404 else f"{request.method} is not allowed on {path}"
    error = BadRequestError.single("$", "no_route", message, exc.status_code)
    oip = path == "/v2" or path.startswith("/v2/")
    return json_response(error_body(error) if oip else error.body(), exc.status_code, exc.headers)


def server_error(metrics: Metrics, routes: list[BaseRoute]) -> Callable[[Request, Exception], Awaitable[Response]]:
    """What answers an exception raised outside every handler (uvicorn logs it): a 500, counted by endpoint."""

    async def answer(request: Request, exc: Exception) -> Response:
        matched = (
            route for route in routes if isinstance(route, Route) and route.matches(request.scope)[0] == Match.FULL
        )
        endpoint = next((route.path for route in matched), "unmatched")
        metrics.answered(endpoint, 500)
        return json_response(BadRequestError.single("$", "internal", INTERNAL_ERROR, 500).body(), 500)

    return answer
