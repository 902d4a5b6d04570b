"""A lean HTTP/1.1 client for the non-streamed upstream calls on the hot path.

A general client (aiohttp) costs ~100 us of CPU per request in object set-up alone; for a
gateway that is most of its own overhead. This one does only what an upstream POST needs:
keep-alive connections pooled per origin, a request written in one ``write``, the response
parsed by ``httptools`` (the parser uvicorn uses, so chunked bodies, framing and malformed
responses are handled by a proven implementation), and connect/read timeouts. Streams keep
using aiohttp, where per-request set-up is noise next to the stream itself.

The read timeout is not a timer per request (``asyncio.timeout`` creates and cancels one,
~5% of the gateway's CPU): each exchange stores its deadline, and one timer per client,
armed while exchanges are pending, fails those past it (within ``_tick`` of it).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

__all__ = ["ConnectFailed", "HTTP1Client", "ProtocolFailed", "Response"]


class ConnectFailed(OSError):
    """No connection could be made (nothing was sent): safe to try elsewhere.
    ``timed_out``: the attempt hung until the connect timeout (not refused at once)."""

    timed_out = False


class ProtocolFailed(Exception):
    """The connection broke or the answer could not be parsed."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes
    retry_after: str | None = None


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]
    head: bytes  # the request line and fixed headers, up to Content-Length


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._future: asyncio.Future[Response] | None = None
        self.deadline = 0.0  # loop time after which the pending answer has timed out
        self._body: list[bytes] = []
        self._content_type = b""
        self._retry_after: bytes | None = None
        self._keep_alive = True
        self._received = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ProtocolFailed(f"unparsable HTTP answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ProtocolFailed("the upstream closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-type":
            self._content_type = value
        elif lowered == b"retry-after":
            self._retry_after = value

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        future, self._future = self._future, None
        if future is not None and not future.done():
            media = self._content_type.split(b";", 1)[0].strip().decode("latin-1").lower()
            retry_after = self._retry_after.decode("latin-1") if self._retry_after else None
            status = self._parser.get_status_code()
            future.set_result(Response(status, media, b"".join(self._body), retry_after))

    # client side
    def send(self, data: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        self._future = asyncio.get_running_loop().create_future()
        self._body = []
        self._content_type = b""
        self._retry_after = None
        self._received = False
        self.transport.write(data)
        return self._future

    @property
    def reusable(self) -> bool:
        return not self.closed and self._keep_alive and self._future is None

    @property
    def received_anything(self) -> bool:
        return self._received

    def time_out(self) -> None:
        self._fail(TimeoutError())

    def _fail(self, exc: Exception) -> None:
        future, self._future = self._future, None
        if future is not None and not future.done():
            future.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class HTTP1Client:
    def __init__(
        self,
        *,
        max_connections: int,
        connect_timeout_s: float,
        read_timeout_s: float,
        headers: dict[str, str],
    ) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._connect_timeout = connect_timeout_s
        self._read_timeout = read_timeout_s
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._targets: dict[str, _Target] = {}
        self._ssl: ssl.SSLContext | None = None
        self._waiting: set[_Connection] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        # How late past its deadline an exchange may fail (a small share of the timeout).
        self._tick = min(1.0, read_timeout_s / 4)

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{self._fixed}Content-Length: "
            target = _Target((parts.scheme, parts.hostname, port), head.encode("latin-1"))
            self._targets[url] = target
        return target

    async def post(self, url: str, body: bytes) -> Response:
        """POST ``body``; raises ConnectFailed, ProtocolFailed or TimeoutError."""
        target = self._target(url)
        request = target.head + str(len(body)).encode() + b"\r\n\r\n" + body
        async with self._slots:
            conn, reused = await self._checkout(target.origin)
            try:
                response = await self._exchange(conn, request)
            except ProtocolFailed:
                if not reused or conn.received_anything:
                    raise
                # A kept-alive connection the server had already closed: one fresh try.
                conn = await self._open(target.origin)
                response = await self._exchange(conn, request)
            if conn.reusable:
                self._idle.setdefault(target.origin, deque()).append(conn)
            else:
                conn.close()
            return response

    async def _exchange(self, conn: _Connection, request: bytes) -> Response:
        loop = asyncio.get_running_loop()
        conn.deadline = loop.time() + self._read_timeout
        self._waiting.add(conn)
        if self._sweeper is None:
            self._sweeper = loop.call_at(conn.deadline, self._sweep)
        try:
            return await conn.send(request)
        except BaseException:
            conn.close()
            raise
        finally:
            self._waiting.discard(conn)

    def _sweep(self) -> None:
        """Fail the exchanges past their deadline; come back while any is waiting."""
        self._sweeper = None
        if not self._waiting:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for conn in [c for c in self._waiting if c.deadline <= now]:
            self._waiting.discard(conn)
            conn.time_out()
        if self._waiting:
            soonest = min(c.deadline for c in self._waiting)
            self._sweeper = loop.call_at(max(soonest, now + self._tick), self._sweep)

    async def _checkout(self, origin: tuple[str, str, int]) -> tuple[_Connection, bool]:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.reusable:
                return conn, True
        return await self._open(origin), False

    async def _open(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            context = self._ssl = self._ssl or ssl.create_default_context()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, conn = await loop.create_connection(_Connection, host, port, ssl=context)
        except (OSError, TimeoutError) as exc:
            failed = ConnectFailed(str(exc) or type(exc).__name__)
            failed.timed_out = isinstance(exc, TimeoutError)
            raise failed from None
        return conn

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
