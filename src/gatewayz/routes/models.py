"""The model registry API: discovery for any key, mapping changes for admin keys.

Standard and partner keys discover only live models and only their public fields; admin
keys see every entry with its upstream routes, tokenizer and source."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.config import ModelConfig
from gatewayz.errors import InvalidRequest
from gatewayz.http.api import Api
from gatewayz.http.body import read_json_object
from gatewayz.http.families import HF, FamilyRoute
from gatewayz.http.responses import JSONResponse
from gatewayz.routes.common import begin
from gatewayz.schemas.admin_answers import (
    AuditQuery,
    AuditTrail,
    HubListing,
    MappingList,
    ModelsQuery,
    RegistryEntry,
    StatusQuery,
    Unmapped,
)
from gatewayz.schemas.checks import CheckReport
from gatewayz.schemas.query import parse_count
from gatewayz.schemas.registry import MappingRequest, StatusRequest
from gatewayz.services.hub_mapping import grouped, mapping_of
from gatewayz.services.keys import Principal
from gatewayz.services.registry import STATUSES, Registry
from gatewayz.services.registry_store import describe, describe_public
from gatewayz.tasks import ALL_TASKS

TAG = "Registry"
LIST: Api[Any] = Api("List the registry's models", TAG, answer=MappingList, query=ModelsQuery)
AUDIT: Api[Any] = Api(
    "Read the registry's audit trail (admin)", TAG, answer=AuditTrail, query=AuditQuery
)
HUB_LISTING: Api[Any] = Api(
    "The mappings in the Hub's listing shape", TAG, answer=HubListing, query=StatusQuery
)
MAP = Api(
    "Map a model, or replace its mapping (admin)",
    TAG,
    body=MappingRequest,
    answer=RegistryEntry,
    created=True,
)
STATUS = Api("Set a model's status (admin)", TAG, body=StatusRequest, answer=RegistryEntry)
CHECKS = Api(
    "Record a model's conformance check (admin; gatewayz hf check sends it)",
    TAG,
    body=CheckReport,
    answer=RegistryEntry,
    created=True,
)
UNMAP: Api[Any] = Api("Unmap a model (admin)", TAG, answer=Unmapped)


def _actor(key_id: int) -> str:
    return f"key:{key_id}"


def _item(registry: Registry, model_id: str) -> dict[str, Any]:
    changed_at = registry.changed_at(model_id)
    return {
        **describe(registry.get(model_id)),
        "source": registry.source(model_id),
        "changed_at": None if changed_at is None else changed_at.isoformat(),
        "last_check": registry.check_json(model_id),
    }


def _visible(registry: Registry, who: Principal, status: str | None) -> list[ModelConfig]:
    """The entries ``who`` may discover: all for an admin, live ones for any other key."""
    return [
        m
        for m in registry.all()
        if (status is None or m.status == status) and (who.is_admin or m.status == "live")
    ]


def _filter(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in allowed:
        raise InvalidRequest(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


async def list_models(request: Request) -> Response:
    gw, ctx = await begin(request, "registry_list")
    task = _filter(request, "task_type", ALL_TASKS)
    status = _filter(request, "status", STATUSES)
    who = ctx.principal
    models = [
        _item(gw.registry, m.id) if who.is_admin else describe_public(m)
        for m in _visible(gw.registry, who, status)
        if task is None or m.task == task
    ]
    return JSONResponse({"models": models})


async def hub_listing(request: Request) -> Response:
    gw, ctx = await begin(request, "registry_hub_listing")
    status = _filter(request, "status", STATUSES)
    models = _visible(gw.registry, ctx.principal, status)
    # Local-only entries are served but never pushed: the Hub would not list them.
    models = [m for m in models if not m.local_only]
    listing = grouped(mapping_of(m) for m in models)
    if ctx.principal.is_admin:  # probe reasons may name upstream details: admins only
        by_ident = {mapping_of(m).ident: m.id for m in models}
        for task, items in listing.items():
            for key, item in items.items():
                item["last_check"] = gw.registry.check_json(by_ident[(task, key)])
    return JSONResponse(listing)


async def map_model(request: Request) -> Response:
    gw, ctx = await begin(request, "registry_map")
    ctx.principal.require_admin()
    body = await read_json_object(request, gw.settings.max_body_bytes)
    request_body = MAP.validate(body)
    model = request_body.to_model()
    mapped = await gw.registry.map(
        model, _actor(ctx.principal.key_id), given=request_body.given(), force=request_body.force
    )
    body = _item(gw.registry, model.id)
    if not mapped.created:
        body["changed"] = mapped.changed  # a re-map changes only the fields it names
    if mapped.notes:
        body["notes"] = mapped.notes  # what could not be checked with the upstreams
    return JSONResponse(body, status_code=201 if mapped.created else 200)


async def set_status(request: Request) -> Response:
    gw, ctx = await begin(request, "registry_status")
    ctx.principal.require_admin()
    body = await read_json_object(request, gw.settings.max_body_bytes)
    req = STATUS.validate(body)
    model_id = request.path_params["model_id"]
    await gw.registry.set_status(
        model_id, req.status, _actor(ctx.principal.key_id), force=req.force
    )
    return JSONResponse(_item(gw.registry, model_id))


async def record_check(request: Request) -> Response:
    """Store a model's conformance check (``gatewayz hf check`` sends it; admin)."""
    gw, ctx = await begin(request, "registry_check")
    ctx.principal.require_admin()
    body = await read_json_object(request, gw.settings.max_body_bytes)
    report = CHECKS.validate(body)
    model_id = request.path_params["model_id"]
    await gw.registry.record_check(
        model_id, report.probe_dicts(), _actor(ctx.principal.key_id), report.changed_at
    )
    return JSONResponse(_item(gw.registry, model_id), status_code=201)


async def unmap_model(request: Request) -> Response:
    gw, ctx = await begin(request, "registry_unmap")
    ctx.principal.require_admin()
    model = await gw.registry.unmap(request.path_params["model_id"], _actor(ctx.principal.key_id))
    return JSONResponse({"deleted": model.id})


async def audit_trail(request: Request) -> Response:
    """Recent registry changes, newest first (admin): who, when, before and after."""
    gw, ctx = await begin(request, "registry_audit")
    ctx.principal.require_admin()
    limit = parse_count("limit", request.query_params.get("limit", "100"), 1, MAX_AUDIT_ROWS)
    entries = await gw.registry.audit(request.query_params.get("model_id"), limit)
    return JSONResponse(
        {
            "entries": [
                {
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "model_id": e.model_id,
                    "before": e.before,
                    "after": e.after,
                }
                for e in entries
            ]
        }
    )


MAX_AUDIT_ROWS = 1_000

ROUTES = [
    FamilyRoute("/hf/tasks/models", list_models, family=HF, methods=["GET"], api=LIST),
    FamilyRoute("/hf/tasks/models/audit", audit_trail, family=HF, methods=["GET"], api=AUDIT),
    FamilyRoute(
        "/hf/tasks/models/registry", hub_listing, family=HF, methods=["GET"], api=HUB_LISTING
    ),
    FamilyRoute("/hf/tasks/models/map", map_model, family=HF, methods=["POST"], api=MAP),
    FamilyRoute(
        "/hf/tasks/models/{model_id:path}/status",
        set_status,
        family=HF,
        methods=["PUT"],
        api=STATUS,
    ),
    FamilyRoute(
        "/hf/tasks/models/{model_id:path}/checks",
        record_check,
        family=HF,
        methods=["POST"],
        api=CHECKS,
    ),
    FamilyRoute(
        "/hf/tasks/models/{model_id:path}", unmap_model, family=HF, methods=["DELETE"], api=UNMAP
    ),
]
