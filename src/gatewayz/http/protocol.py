"""The HTTP/1.1 protocol ``gatewayz serve`` runs on uvicorn: uvicorn's httptools protocol
plus the limits uvicorn lacks (it only has a keep-alive timeout).

Each connection is always in one phase, and each phase but one has a deadline::

    opened / next request begins --> headers complete --> body complete --> response sent
        |  header_timeout_s            |  body_timeout_s     |  (none: the app   |  keep_alive_s
        v                              v                     v   is working)     v  (idle)

A connection past its deadline is closed, with a 408 first if no response has started
(for a late body the 408 carries the request's ``Inference-Id``; the app's pending read
ends as if the client had gone, so it finishes quietly). The deadlines are about the
request: a long streamed response is never cut. On top of that, ``ConnectionGuard`` caps
the open connections of the process (and optionally per client address): beyond the cap
a new connection gets a canned 503 and is closed at once, before any request state exists.

The hot path stays cheap: a phase change stores a deadline (one ``loop.time()``), and one
timer per connection wakes up at most every ``min(timeouts)`` seconds to compare it,
instead of a timer being created and cancelled per phase of every request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gatewayz.config import ServerSettings
from gatewayz.http.families import ErrorInfo, error_payload
from gatewayz.http.requestid import ID_KEY

log = logging.getLogger("gatewayz.connections")

# A connection's phases; each indexes its timeout in ``ConnectionGuard.timeouts``.
WORKING, IDLE, HEADERS, BODY = 0, 1, 2, 3
REPORT_EVERY_S = 10.0


def _canned(status: bytes, payload: dict[str, Any], extra: bytes = b"") -> bytes:
    body = orjson.dumps(payload)
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"connection: close\r\n\r\n"
        + body
    )


REFUSED = _canned(
    b"503 Service Unavailable",
    {"error": "the server has too many open connections; retry later"},
    b"retry-after: 1\r\n",
)


class ConnectionGuard:
    """Admits or refuses the connections of one process, and counts what it did.

    It travels to worker processes inside ``GuardedConfig`` (by pickling, before any
    connection exists), so each process has its own counts."""

    def __init__(self, limits: ServerSettings, max_connections: int) -> None:
        self.limits = limits
        self.max_connections = max_connections
        self.per_ip = limits.max_connections_per_ip
        self.timeouts = (0.0, limits.keep_alive_s, limits.header_timeout_s, limits.body_timeout_s)
        self.tick = min(self.timeouts[1:])
        self.header_timeout = _canned(
            b"408 Request Timeout",
            {"error": f"the request headers did not arrive within {limits.header_timeout_s:g} s"},
        )
        self.body_timeout_message = (
            f"the request body did not arrive within {limits.body_timeout_s:g} s of its headers"
        )
        self._per_host: dict[str, int] = {}
        self._counts = {"refused": 0, "slow headers": 0, "slow body": 0}
        self._reported_at = 0.0

    def admit(self, open_now: int, host: str | None) -> bool:
        if open_now >= self.max_connections:
            self.count("refused")
            return False
        if self.per_ip is not None and host is not None:
            held = self._per_host.get(host, 0)
            if held >= self.per_ip:
                self.count("refused")
                return False
            self._per_host[host] = held + 1
        return True

    def release(self, host: str | None) -> None:
        if self.per_ip is not None and host is not None:
            held = self._per_host.pop(host) - 1
            if held:
                self._per_host[host] = held

    def count(self, what: str) -> None:
        """Counted, and logged at most every ``REPORT_EVERY_S`` (a flood writes no flood)."""
        self._counts[what] += 1
        now = asyncio.get_running_loop().time()
        if now - self._reported_at >= REPORT_EVERY_S:
            self._reported_at = now
            done = ", ".join(f"{n} {w}" for w, n in self._counts.items() if n)
            log.warning(
                "connections closed by the server's limits (%s); cap %d open, %s per address",
                done,
                self.max_connections,
                self.per_ip or "no cap",
            )
            self._counts = dict.fromkeys(self._counts, 0)

    def body_timeout(self, scope: Any) -> bytes:
        rid = str(scope["state"].get(ID_KEY, ""))
        payload = error_payload(
            scope,
            ErrorInfo(rid, self.body_timeout_message, "invalid_request_error", "request_timeout"),
        )
        return _canned(b"408 Request Timeout", payload, b"inference-id: " + rid.encode() + b"\r\n")


class GuardedConfig(Config):
    """uvicorn's configuration with ``GuardedHttpToolsProtocol`` and its guard. The
    protocol owns the keep-alive timeout, so uvicorn's ``timeout_keep_alive`` is unused."""

    def __init__(self, app: Any, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(app, http=GuardedHttpToolsProtocol, ws="none", **kwargs)
        self.guard = guard


class CoalescingTransport:
    """The connection's transport as uvicorn's response cycle sees it: writes are held
    and leave together, in one ``send`` system call, when the response is complete or at
    the end of the event loop's iteration, whichever comes first. uvicorn writes a
    response's head, and each event of a stream, separately (a syscall each, ~11% of the
    gateway's CPU on a stream); a whole answer now costs one, and so do the events of a
    stream that arrived together. Nothing waits past the current iteration: events that
    arrive apart still leave as they come."""

    __slots__ = ("_flush_soon", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._flush_soon = self.flush

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            self._held = [data]
            self._loop.call_soon(self._flush_soon)
        else:
            held.append(data)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, GuardedConfig)
        self.guard = config.guard
        self.timeouts = self.guard.timeouts
        self.phase = WORKING
        self.deadline = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.admitted = False
        self.host: str | None = None

    # Admission
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        host = str(peer[0]) if isinstance(peer, tuple) else None
        if not self.guard.admit(len(self.connections), host):
            self.transport = transport
            transport.write(REFUSED)
            transport.close()
            return
        self.admitted, self.host = True, host
        super().connection_made(transport)
        self.coalescing = CoalescingTransport(transport, self.loop)
        self._expect(HEADERS)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.phase = WORKING
        if self.admitted:
            self.admitted = False
            self.guard.release(self.host)
        super().connection_lost(exc)

    # Phases (parser callbacks, then the end of each response)
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase != HEADERS:  # a new connection's deadline runs from its opening
            self._expect(HEADERS)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self.cycle.transport = self.coalescing  # type: ignore[assignment]
        if self.pipeline and self.pipeline[0][0] is self.cycle:
            # Queued behind a response in progress, and not read until it starts.
            self.phase = WORKING
        else:
            self._expect(BODY)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self.cycle.response_complete:  # answered before its body ended (e.g. 413)
            self._expect(IDLE)
        else:
            self.phase = WORKING

    def on_response_complete(self) -> None:
        # uvicorn's version (0.55), with this protocol's idle deadline instead of its
        # keep-alive timer (one call_later and one cancel per request saved).
        self.coalescing.flush()  # the whole response, now
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            if cycle.more_body:
                self._expect(BODY)
        elif self.phase == WORKING:
            self._expect(IDLE)

    # The timer
    def _expect(self, phase: int) -> None:
        self.phase = phase
        now = self.loop.time()
        seconds = self.timeouts[phase]
        self.deadline = now + seconds
        if self.timer is None:
            # Never later than ``tick``, so that no later phase can need an earlier wake-up.
            self.timer = self.loop.call_at(now + min(seconds, self.guard.tick), self._check)

    def _check(self) -> None:
        self.timer = None
        if self.phase == WORKING or self.transport.is_closing():
            return
        now = self.loop.time()
        remaining = self.deadline - now
        if remaining > 0:
            self.timer = self.loop.call_at(now + min(remaining, self.guard.tick), self._check)
        else:
            self._expire()

    def _expire(self) -> None:
        phase, self.phase = self.phase, WORKING
        cycle = self.cycle
        if phase == HEADERS:
            self.guard.count("slow headers")
            if cycle is None or cycle.response_complete:
                self.transport.write(self.guard.header_timeout)
        elif phase == BODY:
            self.guard.count("slow body")
            if not cycle.response_started:
                self.transport.write(self.guard.body_timeout(cycle.scope))
        if cycle is not None and not cycle.response_complete:
            # The app's pending (or next) read gets http.disconnect; what it sends is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()
