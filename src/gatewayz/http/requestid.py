"""Outermost ASGI layer: gives every request an ``Inference-Id`` and measures it.

It wraps the whole application (error handlers included), so every response - success,
error, 404, streamed - carries the header, and the metrics see every request once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gatewayz.services.in_flight import InFlight
from gatewayz.services.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access = logging.getLogger("gatewayz.access")

HEADER = b"inference-id"
ROUTE_KEY = "gatewayz.route"
CTX_KEY = "gatewayz.ctx"
ID_KEY = "gatewayz.request_id"
# Set by the router to the matched route's family (see http/families.py).
FAMILY_KEY = "gatewayz.family"
# Families whose clients read the request id from a header of their own as well
# (Anthropic's SDKs: ``request-id``; openai's: ``x-request-id``; both their ``_request_id``).
_FAMILY_ID_HEADER = {
    "anthropic": b"request-id",
    "openai": b"x-request-id",
    "openai-responses": b"x-request-id",
}


def request_id_of(scope: Scope) -> str:
    return str(scope["state"][ID_KEY])


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_RANDOM_BYTES = 10  # 80 random bits drawn per id; 74 of them are used
_POOL_BYTES = 1_600 * _RANDOM_BYTES  # a whole number of ids


class UUIDSource:
    """Version 7 UUIDs (RFC 9562) as strings: 48 bits of Unix time in milliseconds, then
    74 random bits, drawn from a buffer of ``os.urandom`` bytes (one system call per
    1,600 ids instead of one per id: it showed as ~8% of the gateway's CPU at 3,000
    requests/s).

    Time first, so ids sort by creation: a usage row's primary-key entry goes at the end
    of its index, not on a random page of it. With version 4 ids each row of a group
    commit dirtied a page of its own in that index (another 4 KB in SQLite's WAL, and
    again at the checkpoint): a sampling profile at 32 connections put usage commits and
    checkpoints at 18.8% of the gateway's CPU with version 4 ids, 13.9% with these. The
    random part keeps ids unguessable and unique across processes and instances."""

    __slots__ = ("_buffer", "_offset")

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = 0

    def __call__(self) -> str:
        if self._offset >= len(self._buffer):
            self._buffer, self._offset = os.urandom(_POOL_BYTES), 0
        h = self._buffer[self._offset : self._offset + _RANDOM_BYTES].hex()
        self._offset += _RANDOM_BYTES
        t = f"{time.time_ns() // 1_000_000:012x}"
        return f"{t[:8]}-{t[8:]}-7{h[:3]}-{_VARIANT[h[3]]}{h[4:7]}-{h[7:19]}"


class RequestIdMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        family_of_unrouted: Callable[[str], str],
        access_log: bool = False,
        in_flight: InFlight | None = None,
    ) -> None:
        """``family_of_unrouted`` names the family of a path no route serves (the router
        sets the family of the others), which decides its request-id header too;
        ``in_flight`` counts the requests being served."""
        self.app = app
        self.family_of_unrouted = family_of_unrouted
        self.metrics = metrics
        self.access_log = access_log
        self.new_id = UUIDSource()
        self.in_flight = in_flight or InFlight()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = self.new_id()
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
                extra = state.get(CTX_KEY)
                extra = extra.rate_headers if extra is not None else None
                headers = [*message.get("headers", ()), header, *(extra or ())]
                family = scope.get(FAMILY_KEY) or self.family_of_unrouted(scope["path"])
                alias = _FAMILY_ID_HEADER.get(family)
                if alias is not None:
                    headers.append((alias, header[1]))
                message["headers"] = headers
            elif kind == "http.response.body" and not message.get("more_body", False):
                self._observe(scope, state, status, started)
            await send(message)

        in_flight = self.in_flight
        in_flight.count += 1
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            in_flight.count -= 1

    def _observe(
        self, scope: Scope, state: MutableMapping[str, Any], status: int, started: float
    ) -> None:
        route = state.get(ROUTE_KEY)
        if route is None:  # unmatched paths are not labelled one by one
            route = "unmatched"
        ctx = state.get(CTX_KEY)
        model = ctx.model if ctx is not None else ""
        upstream_s = ctx.watch.upstream_s if ctx is not None else 0.0
        elapsed = time.perf_counter() - started
        self.metrics.observe(route, model, status, elapsed, upstream_s)
        if self.access_log:
            access.info(
                "%s %s %s %d %.2fms model=%s",
                state[ID_KEY],
                scope["method"],
                scope["path"],
                status,
                elapsed * 1000,
                model or "-",
            )
