"""``GET /hf/tasks/models/routes`` (admin): every route of every model, with its circuit
breaker and measurements, as the gateway process that answers sees them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.http.api import Api
from gatewayz.http.families import HF, FamilyRoute
from gatewayz.http.responses import JSONResponse
from gatewayz.routes.common import begin
from gatewayz.schemas.admin_answers import RouteTable

ROUTE_TABLE: Api[Any] = Api(
    "Every model's routes, breakers and measurements (admin)", "Registry", answer=RouteTable
)


async def list_routes(request: Request) -> Response:
    gw, ctx = await begin(request, "registry_routes")
    ctx.principal.require_admin()
    health = gw.inference.health
    models = []
    for model in gw.registry.all():
        entries = health.describe(model)
        routes = [
            {
                **entry,
                "provider": route.provider,
                "shown_as": entry["provider"],
                "model": route.model,
                "priority": route.priority,
                "weight": route.weight,
                "cost": None if route.cost is None else route.cost.model_dump(mode="json"),
                "retry_after_s": health.retry_after(model.id, route),
            }
            for route, entry in zip(model.routes, entries, strict=True)
        ]
        models.append({"id": model.id, "policy": model.policy, "routes": routes})
    return JSONResponse({"models": models})


ROUTES = [
    FamilyRoute("/hf/tasks/models/routes", list_routes, family=HF, methods=["GET"], api=ROUTE_TABLE)
]
