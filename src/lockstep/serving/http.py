"""What every handler uses to read a request's body and write a JSON response."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from .requests import BadRequestError

MAX_BODY_BYTES = 8 * 1024 * 1024


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded by msgspec (floats round-trip exactly)."""
    return Response(msgspec.json.encode(content), status, headers, media_type="application/json")


async def body_bytes(request: Request) -> bytes:
    """The request's body, or a 413 if it declares more than MAX_BODY_BYTES."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequestError.single("$", "too_large", f"the body is over {MAX_BODY_BYTES} bytes", 413)
    return await request.body()
