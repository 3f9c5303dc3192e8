"""Read timeouts: a client that stops sending mid-request is answered 408 and let go.

uvicorn bounds only the idle time between requests (`timeout_keep_alive`);
a request's headers and body may take forever (its issue #157 lists both
timeouts, never built). Here the headers are bounded by `HeaderTimeoutProtocol`,
uvicorn's httptools protocol with a timer from a connection's or request's
first byte to the headers' end (an app sees a request only once its headers
are in). The body is bounded by `BodyReadTimeout`, an ASGI middleware that
bounds each `receive()` of it: the handler reading it gets a BadRequestError
(408), answered in its endpoint's error shape and counted in /metrics.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .requests import BadRequestError

HEADER_TIMEOUT_SECONDS = 10.0  # from a request's first byte (or the connection's opening) to its headers' end
BODY_TIMEOUT_SECONDS = 30.0  # the longest wait for the next part of a request's body


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, where a request's headers must be in within `header_timeout` seconds.

    A connection that sends nothing is let go after that time too. On time out
    it answers 408 and closes, unless a response is being written (a pipelined
    request): then the connection closes once that response is sent.
    """

    def __init__(self, *args: Any, header_timeout: float = HEADER_TIMEOUT_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """A new connection: its first request's headers are due from now."""
        super().connection_made(transport)
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone: no timer outlives it."""
        self._stop_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """A request's first byte: its headers are due from now."""
        super().on_message_begin()
        if self.header_timer is None:  # a connection's first request keeps the timer armed when it opened
            self._start_header_timer()

    def on_headers_complete(self) -> None:
        """The headers are in: the request goes to the app."""
        self._stop_header_timer()
        super().on_headers_complete()

    def _start_header_timer(self) -> None:
        self.header_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _stop_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_timed_out(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            return
        error = BadRequestError.single(
            "$", "timeout", f"the request's headers did not arrive within {self.header_timeout:g} s", 408
        )
        body = msgspec.json.encode(error.body())
        head = f"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        self.transport.write(head.encode() + b"connection: close\r\n\r\n" + body)
        self.transport.close()


class BodyReadTimeout:
    """ASGI middleware: each `receive()` of a request's body waits at most `seconds`, then raises a 408.

    Once the body is in, `receive()` is left alone (it then waits for the client to go, as long as that takes).
    """

    def __init__(self, app: ASGIApp, seconds: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection's scope, with its body's `receive()` bounded."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False

        async def bounded_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                message = f"the body stopped arriving: nothing came for {self.seconds:g} s"
                raise BadRequestError.single("$", "timeout", message, 408) from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, bounded_receive, send)
