"""A second listener that answers only ``GET /metrics`` (setting ``metrics.listen``), so the
metrics can be bound to a private address while the API port faces callers.

It is deliberately small: one request per connection (``Connection: close``), a request
head of at most ``MAX_HEAD_BYTES`` read within ``READ_TIMEOUT_S``, no body. Errors carry an
``Inference-Id`` and the HF error shape, as on the main port. With several worker processes
(``gatewayz serve --workers N``) every worker binds the same address with ``SO_REUSEPORT``
and any of them answers for the whole server, since the workers share their metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import orjson

from gatewayz.errors import GatewayError
from gatewayz.http.requestid import UUIDSource

READ_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 30.0
MAX_HEAD_BYTES = 16 * 1024
METRICS_MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Authorize = Callable[[str | None], Awaitable[object]]
_REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}


class MetricsListener:
    def __init__(
        self,
        host: str,
        port: int,
        render: Callable[[], bytes],
        authorize: Authorize | None,
        *,
        shared: bool,
    ) -> None:
        """``authorize`` raises a ``GatewayError`` for an ``Authorization`` header that may
        not read the metrics (None: anyone may); ``shared``: other processes bind the same
        address (``SO_REUSEPORT``)."""
        self.host, self.port = host, port
        self._render = render
        self._authorize = authorize
        self._shared = shared
        self._new_id = UUIDSource()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._serve, self.host, self.port, limit=MAX_HEAD_BYTES, reuse_port=self._shared
            )
        except OSError as exc:
            raise OSError(
                exc.errno, f"metrics.listen {self.host}:{self.port}: {exc.strerror}"
            ) from None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            writer.write(await self._answer(head))
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # a half-sent, oversized or unread request: the connection is closed
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, head: bytes) -> bytes:
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, _, rest = request_line.partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        rid = self._new_id()
        if path != "/metrics":
            return _error(404, "no such route", rid)
        if method != "GET":
            return _error(405, "method not allowed on this route", rid)
        if self._authorize is not None:
            header = next(
                (
                    v.strip()
                    for k, _, v in (h.partition(":") for h in lines)
                    if k.strip().lower() == "authorization"
                ),
                None,
            )
            try:
                await self._authorize(header)
            except GatewayError as exc:
                extra = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
                return _error(exc.status, exc.message, rid, extra)
        return _response(200, self._render(), METRICS_MEDIA_TYPE, rid)


def _error(status: int, message: str, rid: str, extra: dict[str, str] | None = None) -> bytes:
    body = orjson.dumps({"error": message, "request_id": rid})
    return _response(status, body, "application/json", rid, extra)


def _response(
    status: int, body: bytes, media: str, rid: str, extra: dict[str, str] | None = None
) -> bytes:
    headers = {
        "Content-Type": media,
        "Content-Length": str(len(body)),
        "Inference-Id": rid,
        "Connection": "close",
        **(extra or {}),
    }
    head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + body
