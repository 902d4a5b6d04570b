"""The error boundary: every exception becomes the JSON shape of its route's family.

The family is the matched route's (``http.families``): OpenAI's
``{"error": {"message", "type", "code", "request_id"}}`` for the ``/v1/...`` routes and the
OpenAI-compatible ``/models/{id}/v1/...`` ones, Anthropic's
``{"type": "error", "error": {"type", "message"}, "request_id"}`` for ``/v1/messages...``,
Hugging Face's ``{"error": "...", "request_id": "..."}`` for the rest.
Unexpected exceptions are logged once, with their traceback and request id, and answered
as a bare 500: the caller never sees a stack trace or a secret.

Starlette's outermost ``ServerErrorMiddleware`` calls ``on_unexpected`` and then re-raises
the exception (for servers to log); ``CrashBoundary``, between it and the request-id layer,
stops it there. Otherwise uvicorn logs a second traceback and, seeing the application
fail, drops the client's keep-alive connection after the 500 was sent.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gatewayz.db.outage import is_outage
from gatewayz.errors import (
    DatabaseUnavailable,
    GatewayError,
    NotReady,
    RateLimited,
    RoutesUnavailable,
    UpstreamRejected,
)
from gatewayz.http.families import ErrorInfo, error_payload
from gatewayz.http.requestid import ASGIApp, Message, Receive, Scope, Send, request_id_of
from gatewayz.http.responses import JSONResponse

log = logging.getLogger("gatewayz.errors")


def error_response(
    request: Request,
    status: int,
    message: str,
    type_: str,
    code: str,
    retry_after: str | None = None,
) -> Response:
    rid = request_id_of(request.scope)
    headers = {"Retry-After": retry_after or "1"} if status in (429, 503) else None
    if status == 413:
        # The rest of the body is left unread: the connection cannot be reused, so say so
        # (otherwise a keep-alive client's next request fails on the dead connection).
        headers = {"Connection": "close"}
    body = error_payload(request.scope, ErrorInfo(rid, message, type_, code))
    return JSONResponse(body, status_code=status, headers=headers)


async def on_gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    if exc.status >= 500:
        # A balancer probes /ready every second or so; the reason it is not is logged where
        # it arises (the failed preload, the unreachable database), not once per probe.
        level = logging.DEBUG if isinstance(exc, NotReady) else logging.WARNING
        log.log(level, "request %s failed: %s", request_id_of(request.scope), exc.message)
    retry_after = (
        exc.retry_after
        if isinstance(exc, (UpstreamRejected, RateLimited, RoutesUnavailable))
        else None
    )
    return error_response(request, exc.status, exc.message, exc.type, exc.code, retry_after)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "no such route", 405: "method not allowed on this route"}.get(
        exc.status_code, str(exc.detail)
    )
    return error_response(
        request,
        exc.status_code,
        message,
        "invalid_request_error",
        "not_found" if exc.status_code == 404 else "bad_request",
    )


# The exception ``on_unexpected`` has logged, so that the boundary does not log it again.
_LOGGED_KEY = "gatewayz.crash_logged"
INTERNAL_ERROR = "internal error; quote the request id when reporting it"


def _log_crash(scope: Scope, exc: BaseException) -> None:
    state = scope["state"]
    if state.get(_LOGGED_KEY) is not exc:
        state[_LOGGED_KEY] = exc
        log.error("request %s crashed", request_id_of(scope), exc_info=exc)


async def on_database_error(request: Request, exc: Exception) -> Response:
    """A database that cannot be reached is a 503 the caller may retry (and is logged
    without a traceback); any other database or OS error is a bug."""
    if not is_outage(exc):
        return await on_unexpected(request, exc)
    return await on_gateway_error(
        request,
        DatabaseUnavailable(f"the database is unavailable ({type(exc).__name__}); retry shortly"),
    )


async def on_unexpected(request: Request, exc: Exception) -> Response:
    if is_outage(exc):  # a driver error SQLAlchemy passed on unwrapped
        return await on_database_error(request, exc)
    _log_crash(request.scope, exc)
    return error_response(request, 500, INTERNAL_ERROR, "internal_error", "internal_error")


class CrashBoundary:
    """Ends an unexpected exception's journey: logged once (with the request id), a JSON
    500 if no response has started, and the application returns normally so the server
    keeps the connection. A response that broke after it started is left unfinished: the
    server then closes the connection, as a truncated body requires."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            _log_crash(scope, exc)
            if not started:
                request = Request(scope)
                response = error_response(
                    request, 500, INTERNAL_ERROR, "internal_error", "internal_error"
                )
                await response(scope, receive, send)


EXCEPTION_HANDLERS = {
    GatewayError: on_gateway_error,
    SQLAlchemyError: on_database_error,
    OSError: on_database_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
