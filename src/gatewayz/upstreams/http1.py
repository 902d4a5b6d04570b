"""A lean HTTP/1.1 client for the non-streamed upstream calls on the hot path.

A general client (aiohttp) costs ~100 us of CPU per request in object set-up alone; for a
gateway that is most of its own overhead. This one does only what an upstream POST needs:
keep-alive connections pooled per origin, a request written in one ``write``, the response
parsed by ``httptools`` (the parser uvicorn uses, so chunked bodies, framing and malformed
responses are handled by a proven implementation), and connect/read timeouts. Streamed
answers (``stream``) use the same connections: their body is handed on as it arrives, with
the read timeout counted between arrivals, and the connection goes back to the pool once
the body has been read to its end.

The read timeout is not a timer per request (``asyncio.timeout`` creates and cancels one,
~5% of the gateway's CPU): each exchange stores its deadline, and one timer per client,
armed while exchanges are pending, fails those past it (within ``_tick`` of it).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass
from typing import TypeVar, cast
from urllib.parse import urlsplit

import httptools

T = TypeVar("T")

__all__ = ["ConnectFailed", "HTTP1Client", "ProtocolFailed", "Response", "StreamedResponse"]


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


# Bytes of a streamed body buffered unread before the upstream is no longer read from.
_STREAM_HIGH_WATER = 256 * 1024


class _Body:
    """A streamed body as it arrives: filled by the connection, drained by ``read``."""

    __slots__ = ("buffered", "chunks", "done", "error", "waiter")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.done = False
        self.error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


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
        # Streamed answers: the status once the headers are in, then the body as it comes.
        self._head: asyncio.Future[int] | None = None
        self.body: _Body | None = None
        self._paused = False

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

    def on_headers_complete(self) -> None:
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_result(self._parser.get_status_code())

    def on_body(self, body: bytes) -> None:
        sink = self.body
        if sink is None:
            self._body.append(body)
            return
        sink.chunks.append(body)
        sink.buffered += len(body)
        if sink.buffered > _STREAM_HIGH_WATER and not self._paused and self.transport:
            self._paused = True
            self.transport.pause_reading()
        sink.wake()

    def on_message_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        if self.body is not None:
            self.body.done = True
            self.body.wake()
            return
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
        self.body = None
        self._body = []
        self._content_type = b""
        self._retry_after = None
        self._received = False
        self.transport.write(data)
        return self._future

    def send_streamed(self, data: bytes) -> asyncio.Future[int]:
        """Send ``data``; the future is the answer's status once its headers are in, and
        its body goes to ``self.body``."""
        assert self.transport is not None
        self._head = asyncio.get_running_loop().create_future()
        self.body = _Body()
        self._paused = False
        self._content_type = b""
        self._retry_after = None
        self._received = False
        self.transport.write(data)
        return self._head

    def took(self, size: int) -> None:
        """``size`` bytes of the streamed body were read: read on from the upstream."""
        assert self.body is not None
        self.body.buffered -= size
        if self._paused and self.body.buffered <= _STREAM_HIGH_WATER // 2 and self.transport:
            self._paused = False
            self.transport.resume_reading()

    def header(self) -> tuple[str, str | None]:
        """The media type and ``Retry-After`` of the answer being received."""
        media = self._content_type.split(b";", 1)[0].strip().decode("latin-1").lower()
        return media, self._retry_after.decode("latin-1") if self._retry_after else None

    @property
    def reusable(self) -> bool:
        return (
            not self.closed
            and self._keep_alive
            and self._future is None
            and (self.body is None or self.body.done)
        )

    @property
    def received_anything(self) -> bool:
        return self._received

    def time_out(self) -> None:
        self._fail(TimeoutError())

    def _fail(self, exc: Exception) -> None:
        future, self._future = self._future, None
        if future is not None and not future.done():
            future.set_exception(exc)
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_exception(exc)
        if self.body is not None and not self.body.done and self.body.error is None:
            self.body.error = exc
            self.body.wake()
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class StreamedResponse:
    """A streamed answer: its status and headers, and its body read as it arrives."""

    def __init__(
        self, client: HTTP1Client, conn: _Connection, origin: tuple[str, str, int], status: int
    ) -> None:
        self.status = status
        self.content_type, self.retry_after = conn.header()
        self._client = client
        self._conn: _Connection | None = conn
        self._origin = origin

    async def read(self) -> bytes:
        """What has arrived of the body since the last read (waiting for something), or
        b"" at its end. Raises ProtocolFailed (the connection broke) or TimeoutError
        (nothing arrived within the read timeout)."""
        conn = self._conn
        if conn is None or conn.body is None:
            return b""
        body = conn.body
        while not body.chunks:
            if body.error is not None:
                raise body.error
            if body.done:
                return b""
            body.waiter = asyncio.get_running_loop().create_future()
            await self._client._await(conn, body.waiter)
        data = body.chunks[0] if len(body.chunks) == 1 else b"".join(body.chunks)
        body.chunks.clear()
        conn.took(len(data))
        return data

    async def read_all(self, limit: int) -> bytes:
        """The rest of the body, up to ``limit`` bytes (the rest is left unread)."""
        parts: list[bytes] = []
        size = 0
        while size < limit and (data := await self.read()):
            parts.append(data)
            size += len(data)
        return b"".join(parts)[:limit]

    def close(self) -> None:
        """Give the connection back (or close it if its body was not read to the end).
        Safe to call more than once."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._client._give_back(conn, self._origin)


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

    async def stream(self, url: str, body: bytes) -> StreamedResponse:
        """POST ``body`` and return once the answer's headers are in; its body is then
        read with ``read`` and the answer must be ``close``d. Raises as ``post`` does."""
        target = self._target(url)
        request = target.head + str(len(body)).encode() + b"\r\n\r\n" + body
        await self._slots.acquire()
        try:
            conn, reused = await self._checkout(target.origin)
            try:
                status = await self._await(conn, conn.send_streamed(request))
            except ProtocolFailed:
                if not reused or conn.received_anything:
                    raise
                conn = await self._open(target.origin)  # as in ``post``
                status = await self._await(conn, conn.send_streamed(request))
        except BaseException:
            self._slots.release()
            raise
        return StreamedResponse(self, conn, target.origin, status)

    async def _exchange(self, conn: _Connection, request: bytes) -> Response:
        return await self._await(conn, conn.send(request))

    async def _await(self, conn: _Connection, future: asyncio.Future[T]) -> T:
        """``future`` of ``conn``, failed with TimeoutError once the read timeout passes."""
        loop = asyncio.get_running_loop()
        conn.deadline = loop.time() + self._read_timeout
        self._waiting.add(conn)
        if self._sweeper is None:
            self._sweeper = loop.call_at(conn.deadline, self._sweep)
        try:
            return await future
        except BaseException:
            conn.close()
            raise
        finally:
            self._waiting.discard(conn)

    def _give_back(self, conn: _Connection, origin: tuple[str, str, int]) -> None:
        """The end of a streamed answer: ``conn`` back to the pool if it can serve again."""
        if conn.reusable:
            self._idle.setdefault(origin, deque()).append(conn)
        else:
            conn.close()
        self._slots.release()

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
