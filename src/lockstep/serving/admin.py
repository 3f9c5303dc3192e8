"""Changing what the server serves without a restart: a new `prod`, or a new rollout.

`POST /admin/model {"model": ref}` loads and verifies a version and makes it
`prod`; `POST /admin/rollout` takes a rollout config (the schema of
`conf/rollout/`) and loads its candidate; SIGHUP re-reads what the server
was started from (`ReloadSource`): the version in the `prod` stage (when `prod`
was named by its stage), and the rollout (params.yaml, or `serve --rollout
FILE`). So after `rollout apply` a SIGHUP serves what the registry now says: a
promoted version as prod, and prod alone once the candidate's stage is empty.
Each builds a whole new routing table off the request path, then swaps it in
with one assignment: requests in flight finish under the old table, none is
dropped. Both endpoints need the admin token; without one they are off.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ..config import RolloutConfig, parse_rollout
from ..errors import PipelineError
from ..registry.store import load_version
from .http import body_bytes, json_response
from .requests import BadRequestError, decode
from .routing import RoutingTable, follow_stage, load_table

if TYPE_CHECKING:
    from .state import ServerState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadSource:
    """What SIGHUP re-reads: the rollout's source, and the stage `prod` follows.

    `prod_stage` is None when prod was named as a version or a bundle (`serve --model`):
    it then stays, and only the rollout is re-read.
    """

    rollout: Callable[[], RolloutConfig] | None = None
    prod_stage: str | None = None


class Admin:
    """The admin endpoints and the SIGHUP reload, around the server's state; one change at a time."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def routes(self) -> list[tuple[str, Any, list[str]]]:
        """(path, handler, methods) of each admin endpoint."""
        return [("/admin/model", self.swap_model, ["POST"]), ("/admin/rollout", self.set_rollout, ["POST"])]

    def _authorize(self, request: Request) -> None:
        token = self.state.admin_token
        if token is None:
            message = "admin endpoints are off: start the server with a token"
            raise BadRequestError.single("authorization", "disabled", message, 404)
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            message = "a valid `Authorization: Bearer <token>` is required"
            raise BadRequestError.single("authorization", "token", message, 401)

    async def swap_model(self, request: Request) -> Response:
        """POST /admin/model {"model": ref}: load and verify `ref`, then serve it as `prod` (the rollout stays)."""
        self._authorize(request)
        document = decode(await body_bytes(request))
        ref = document.get("model") if isinstance(document, dict) else None
        if not isinstance(ref, str):
            message = 'the body must be {"model": "<bundle folder, version or stage>"}'
            raise BadRequestError.single("model", "missing", message)
        async with self.state.router.lock:  # a table is built from the one it replaces
            try:
                loaded = await asyncio.to_thread(load_version, ref)
                table = dataclasses.replace(self.state.router.table, prod=loaded)
            except PipelineError as exc:
                raise BadRequestError.single("model", "verification", str(exc)) from None
            previous = self.state.router.swap(table)
        body = {"model_version": loaded.version, "model_sha256": loaded.sha256, "previous": previous.prod.version}
        return json_response(body)

    async def set_rollout(self, request: Request) -> Response:
        """POST /admin/rollout {rollout config}: load its candidate, then route by it."""
        self._authorize(request)
        document = decode(await body_bytes(request))
        try:
            rollout = parse_rollout(document)
        except PipelineError as exc:
            field = str(exc).removeprefix("invalid params: ").split(":")[0]
            raise BadRequestError.single(field, "rollout", str(exc)) from None
        try:
            table = await self.apply(rollout)
        except PipelineError as exc:
            raise BadRequestError.single("candidate", "verification", str(exc)) from None
        return json_response(table.describe())

    async def apply(self, rollout: RolloutConfig, prod_stage: str | None = None) -> RoutingTable:
        """Build the table for `rollout` (off the request path), and swap it in.

        Its prod is the current one, or the version now in `prod_stage` if given.
        """
        async with self.state.router.lock:  # a table is built from the one it replaces
            prod = self.state.router.table.prod
            if prod_stage is not None:
                prod = await asyncio.to_thread(follow_stage, prod_stage, prod)
            table = await asyncio.to_thread(load_table, rollout, prod)
            self.state.router.swap(table)
        log.info("rollout: %s", table.describe())
        return table

    async def reload(self) -> None:
        """Re-read prod's stage and the rollout, and apply them; on any error, keep serving the current table."""
        source, reloads = self.state.reload_source, self.state.metrics.reloads
        if source is None or (source.rollout is None and source.prod_stage is None):
            log.warning("SIGHUP: nothing to reload: prod was named as a version or a bundle, with no rollout")
            return
        try:
            rollout = await asyncio.to_thread(source.rollout) if source.rollout else self.state.router.table.rollout
            await self.apply(rollout, source.prod_stage)
        except (PipelineError, OSError) as exc:
            reloads.labels("failed").inc()
            log.error("SIGHUP: the routing is unchanged: %s", exc)
            return
        reloads.labels("applied").inc()

    def reload_on_sighup(self) -> bool:
        """Reload prod's stage and the rollout on SIGHUP (only the main thread takes signals); True if installed."""
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
            return False
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Task[None]] = set()

        def on_sighup() -> None:
            task = loop.create_task(self.reload())
            pending.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(pending.discard)

        loop.add_signal_handler(signal.SIGHUP, on_sighup)
        return True
