"""Outermost ASGI layer: gives every request an ``Inference-Id`` and measures it.

It wraps the whole application (error handlers included), so every response - success,
error, 404, streamed - carries the header, and the metrics see every request once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gatewayz.services.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"inference-id"
ROUTE_KEY = "gatewayz.route"
CTX_KEY = "gatewayz.ctx"
ID_KEY = "gatewayz.request_id"


def request_id_of(scope: Scope) -> str:
    return str(scope["state"][ID_KEY])


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = str(uuid.uuid4())
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state[ID_KEY] = rid
        header = (HEADER, rid.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            elif kind == "http.response.body" and not message.get("more_body", False):
                self._observe(state, status, started)
            await send(message)

        await self.app(scope, receive, send_with_id)

    def _observe(self, state: MutableMapping[str, Any], status: int, started: float) -> None:
        route = state.get(ROUTE_KEY)
        if route is None:  # unmatched paths are not labelled one by one
            route = "unmatched"
        ctx = state.get(CTX_KEY)
        model = ctx.model if ctx is not None else ""
        upstream_s = ctx.watch.upstream_s if ctx is not None else 0.0
        self.metrics.observe(route, model, status, time.perf_counter() - started, upstream_s)
