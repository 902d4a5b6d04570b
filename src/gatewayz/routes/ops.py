"""Operational routes: liveness, readiness, metrics. Liveness and readiness need no key
(orchestrators call them) and reveal nothing. Metrics (counts, tokens and cost per model)
are open by default for Prometheus scrapers; ``metrics.require_admin_key`` closes them to
all but admin keys, and ``metrics.listen`` moves them to their own listener."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gatewayz.db.engine import ping
from gatewayz.errors import NotReady
from gatewayz.http.api import Api
from gatewayz.http.families import HF, FamilyRoute
from gatewayz.http.metrics_listener import METRICS_MEDIA_TYPE
from gatewayz.http.requestid import ROUTE_KEY
from gatewayz.http.responses import JSONResponse
from gatewayz.routes.common import gateway
from gatewayz.schemas.admin_answers import Status

log = logging.getLogger("gatewayz.ready")

TAG = "Operations"
HEALTH: Api[Any] = Api("Liveness", TAG, answer=Status, auth="none")
READY: Api[Any] = Api(
    "Readiness: the database answers and the eager models are loaded",
    TAG,
    answer=Status,
    auth="none",
)
METRICS: Api[Any] = Api(
    "Prometheus metrics",
    TAG,
    media="text/plain",
    auth="optional-bearer",
    description="An admin key is needed only with `metrics.require_admin_key`.",
)


async def health(request: Request) -> Response:
    request.scope["state"][ROUTE_KEY] = "health"
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    request.scope["state"][ROUTE_KEY] = "ready"
    gw = gateway(request)
    try:
        await ping(gw.engine)
    except Exception as exc:  # any driver failure means "not ready"; the reason is logged
        log.warning("not ready: the database is not reachable: %s: %s", type(exc).__name__, exc)
        raise NotReady("the database is not reachable") from None
    reason = gw.preloader.not_ready
    if reason is not None:
        raise NotReady(reason)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    gw = gateway(request)
    if gw.settings.metrics.listen is not None:
        raise HTTPException(404)  # served on the metrics listener only
    request.scope["state"][ROUTE_KEY] = "metrics"
    if gw.settings.metrics.require_admin_key:
        await gw.auth.admin(request.headers.get("authorization"))
    return Response(gw.metrics.render(), media_type=METRICS_MEDIA_TYPE)


ROUTES = [
    FamilyRoute("/health", health, family=HF, methods=["GET"], api=HEALTH),
    FamilyRoute("/ready", ready, family=HF, methods=["GET"], api=READY),
    FamilyRoute("/metrics", metrics, family=HF, methods=["GET"], api=METRICS),
]
