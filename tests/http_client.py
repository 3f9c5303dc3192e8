"""A small HTTP client for tests against a real server on 127.0.0.1 (stdlib only)."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit


class Client:
    """One keep-alive connection to `base` (e.g. http://127.0.0.1:8080)."""

    def __init__(self, base: str, timeout: float = 30) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def request(
        self, method: str, path: str, body: bytes | str | Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, parsed JSON or text, headers)."""
        status, raw, response_headers = self.raw_request(method, path, body, headers)
        kind = {name.lower(): value for name, value in response_headers.items()}.get("content-type", "")
        parsed = json.loads(raw) if "json" in kind else raw.decode()
        return status, parsed, response_headers

    def raw_request(
        self, method: str, path: str, body: bytes | str | Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """(status, the body's bytes as sent, headers)."""
        if body is not None and not isinstance(body, bytes | str):
            body = json.dumps(body)
        self.connection.request(
            method, path, body=body, headers={"content-type": "application/json", **(headers or {})}
        )
        response = self.connection.getresponse()
        raw = response.read()
        return response.status, raw, dict(response.getheaders())

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def running(app: Any, config: Any = None) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL.

    `config`: uvicorn's settings for `app` on 127.0.0.1 port 0 (by default uvicorn's own).
    """
    import uvicorn

    config = config or uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(base: str, process: subprocess.Popen, timeout: float = 120) -> float:
    """Wait until the server at `base` (started as `process`) is ready; return how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and process.poll() is None:
        try:
            if Client(base, timeout=2).request("GET", "/v2/health/ready")[0] == 200:
                return time.monotonic() - started
        except OSError:
            time.sleep(0.1)
    output = process.stdout.read() if process.stdout and process.poll() is not None else "(still running)"
    raise AssertionError(f"the server at {base} did not become ready:\n{output}")
