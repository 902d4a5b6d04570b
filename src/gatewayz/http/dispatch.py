"""Fixed-path routes served by one dictionary lookup, in front of Starlette.

Starlette runs every request through its error middleware, its exception middleware, the
router (a regex per route until one matches) and the endpoint's own exception wrapper,
each with a ``send`` wrapper of its own: about 5% of the gateway's CPU on a chat
completion. A route whose path has no parameters needs none of that to be found, so
``FixedRoutes`` answers it directly - same endpoint, same family, same exception handlers
(looked up along the exception's classes, as Starlette does) - and passes everything else
(path patterns, a wrong method, lifespan) to Starlette unchanged.

Only the fixed paths listed before the first route with a pattern are taken, so that no
pattern which Starlette would have matched first is bypassed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from gatewayz.http.families import FamilyRoute
from gatewayz.http.requestid import FAMILY_KEY, ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


def fixed_routes(routes: Sequence[BaseRoute]) -> dict[tuple[str, str], tuple[Endpoint, str]]:
    """(path, method) -> (endpoint, family) of the fixed-path routes before any pattern."""
    table: dict[tuple[str, str], tuple[Endpoint, str]] = {}
    for route in routes:
        if not isinstance(route, FamilyRoute) or route.param_convertors:
            break
        if not inspect.iscoroutinefunction(route.endpoint):
            continue  # Starlette runs it (in a thread, if it is not async)
        for method in route.methods or ():
            table.setdefault((route.path, method), (route.endpoint, route.family))
    return table


class FixedRoutes:
    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[BaseRoute],
        handlers: Mapping[type[Exception], Handler],
    ) -> None:
        """``app`` is the Starlette application serving ``routes`` with ``handlers``."""
        self.app = app
        self.table = fixed_routes(routes)
        self.handlers = dict(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            hit = self.table.get((scope["path"], scope["method"]))
            if hit is not None:
                await self._serve(hit[0], hit[1], scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, endpoint: Endpoint, family: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["app"] = self.app  # what ``request.app`` is under Starlette
        scope[FAMILY_KEY] = family
        scope["path_params"] = {}
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            response = await self._handler(exc)(request, exc)
        # A failure once the response has started goes to the crash boundary, as it
        # would from Starlette: logged, and the unfinished response cut off.
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler:
        for cls in type(exc).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        raise exc  # no handler for it (EXCEPTION_HANDLERS has one for Exception)


def as_handlers(handlers: Mapping[Any, Callable[..., Any]]) -> dict[type[Exception], Handler]:
    """The exception handlers of ``EXCEPTION_HANDLERS`` keyed by exception class."""
    return {k: v for k, v in handlers.items() if isinstance(k, type)}
