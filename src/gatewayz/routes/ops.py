"""Operational routes: liveness, readiness, metrics. No authentication (scrapers and
orchestrators call them); they reveal nothing about keys or traffic contents."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatewayz.db.engine import ping
from gatewayz.errors import GatewayError
from gatewayz.http.requestid import ROUTE_KEY
from gatewayz.http.responses import JSONResponse
from gatewayz.routes.common import gateway


class NotReady(GatewayError):
    status = 503
    type = "service_unavailable"
    code = "not_ready"


async def health(request: Request) -> Response:
    request.scope["state"][ROUTE_KEY] = "health"
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    request.scope["state"][ROUTE_KEY] = "ready"
    try:
        await ping(gateway(request).engine)
    except Exception:  # any driver failure means "not ready"; the reason is logged
        raise NotReady("the database is not reachable") from None
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    request.scope["state"][ROUTE_KEY] = "metrics"
    return Response(
        gateway(request).metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/ready", ready, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
