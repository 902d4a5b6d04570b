"""What every inference route does first: label the request, authenticate, make a context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from gatewayz.errors import AuthenticationFailed, GatewayError, InvalidRequest
from gatewayz.http.families import ErrorInfo, family_of
from gatewayz.http.requestid import CTX_KEY, ROUTE_KEY, request_id_of
from gatewayz.http.responses import SSE_DONE, sse_event
from gatewayz.services.context import RequestContext
from gatewayz.services.keys import Principal, bearer

if TYPE_CHECKING:
    from gatewayz.app import Gateway


# Where the dashboard puts the admin its session cookie names, for the API routes it serves
# to its pages (``routes/dashboard_api.py``): they then need no ``Authorization`` header.
SESSION_PRINCIPAL_KEY = "gatewayz.session_principal"


def gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def reject_nul(request: Request) -> None:
    """No id, name or filter the gateway knows contains a NUL character, and PostgreSQL
    cannot even compare one: refuse it in the URL, on every backend alike."""
    if "\x00" in request.scope["path"] or b"%00" in request.scope["query_string"]:
        raise InvalidRequest("the URL contains a NUL character (%00)")


async def begin(
    request: Request, route: str, key_header: str | None = None
) -> tuple[Gateway, RequestContext]:
    """Label, authenticate (the dashboard session's admin, else the key in the header
    ``key_header`` if the route names one and it is sent, else the ``Authorization: Bearer``
    key) and make the request's context."""
    state = request.scope["state"]
    state[ROUTE_KEY] = route
    reject_nul(request)
    gw = gateway(request)
    principal: Principal | None = state.get(SESSION_PRINCIPAL_KEY)
    if principal is None:
        key = (request.headers.get(key_header) if key_header else None) or bearer(
            request.headers.get("authorization")
        )
        if key is None and key_header is not None:
            raise AuthenticationFailed(
                f"missing API key: send '{key_header}: <key>' or 'Authorization: Bearer <key>'"
            )
        principal = await gw.auth.authenticate(key)
    ctx = RequestContext(request_id_of(request.scope), route, principal)
    state[CTX_KEY] = ctx
    return gw, ctx


async def primed_sse(
    request: Request,
    chunks: AsyncIterator[Any],
    done: bytes | None = SSE_DONE,
    encode: Callable[[Any], bytes] = sse_event,
) -> AsyncIterator[bytes]:
    """Wait for the first chunk before the response starts, so that a failure to reach
    the upstream is still an HTTP error status; then stream the rest as SSE events, each
    written by ``encode``. A failure after the first byte becomes an error event (the
    status is already sent) in the route family's shape, carrying the request id, as an
    error body would."""
    shape = family_of(request.scope)
    request_id = request_id_of(request.scope)
    first = await anext(chunks, None)

    async def events() -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield encode(first)
            async for chunk in chunks:
                yield encode(chunk)
        except GatewayError as exc:
            yield encode(shape.event(ErrorInfo(request_id, exc.message, exc.type, exc.code)))
            return
        if done is not None:
            yield done

    return events()
