"""What every handler uses to read a request's body and write a JSON response."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .requests import BadRequestError

MAX_BODY_BYTES = 8 * 1024 * 1024


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded by msgspec (floats round-trip exactly)."""
    return Response(msgspec.json.encode(content), status, headers, media_type="application/json")


async def body_bytes(request: Request) -> bytes:
    """The request's body, or a 413 if it declares or sends more than MAX_BODY_BYTES (a chunked body declares none).

    A client that goes before its body's end gets a 400 (it will not read it): no handler sees part of a body.
    """
    declared = request.headers.get("content-length")
    too_large = BadRequestError.single("$", "too_large", f"the body is over {MAX_BODY_BYTES} bytes", 413)
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        message = "the client closed the connection before the body's end"
        raise BadRequestError.single("$", "disconnected", message, 400) from None
    return b"".join(chunks)
