"""The JSON the dashboard's pages read and change, behind its session (``with_session``).

Reading reuses the gateway's own API routes (usage, the registry, upstream health) as they
answer an admin key, so the dashboard shows exactly what the API says; the charts, the CSV
export and key administration are the dashboard's own. Amounts leave as integer nano-USD
strings with their exact USD string beside them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gatewayz.config import ConfigError
from gatewayz.dashboard.errors import error_counts
from gatewayz.dashboard.guard import CSRF_HEADER, current_session, with_session
from gatewayz.dashboard.series import DIMENSIONS
from gatewayz.errors import InvalidRequest
from gatewayz.http.body import read_json_object
from gatewayz.http.families import HF, FamilyRoute
from gatewayz.http.responses import JSONResponse
from gatewayz.money import nano_to_usd_string
from gatewayz.routes import models, routing
from gatewayz.routes.common import begin
from gatewayz.schemas.dashboard import CreditBody, KeyCreate, KeyLimitsBody
from gatewayz.schemas.query import parse_id
from gatewayz.schemas.validate import validate
from gatewayz.services.credits import parse_usd
from gatewayz.services.keys import KeyInfo, KeyLimits
from gatewayz.services.limits import check_shared
from gatewayz.services.usage import filter_for, page_limit
from gatewayz.services.usage_export import FIELDS

API = "/dashboard/api"


async def session_info(request: Request) -> Response:
    """Who is logged in, and the CSRF token the page sends back with each change."""
    gw, ctx = await begin(request, "dashboard_session")
    session = current_session(request)
    return JSONResponse(
        {
            "api_key_id": ctx.principal.key_id,
            "name": ctx.principal.name,
            "csrf_token": session.csrf_token,
            "csrf_header": CSRF_HEADER,
            "expires_at": session.expires_at.isoformat(),
            "models": [m.id for m in gw.registry.all()],
        }
    )


async def series(request: Request) -> Response:
    gw, ctx = await begin(request, "dashboard_series")
    query = request.query_params
    by = query.get("by", "model")
    if by not in DIMENSIONS:
        raise InvalidRequest(f"by must be one of {', '.join(DIMENSIONS)}; got {by[:40]!r}")
    flt = filter_for(ctx.principal, query)
    return JSONResponse(await gw.dashboard.series.series(flt, by))


async def usage(request: Request) -> Response:
    """The usage table: the usage API's records and totals (an admin's view), newest first
    (the API and the CSV export list them oldest first)."""
    gw, ctx = await begin(request, "dashboard_usage")
    query = request.query_params
    flt = filter_for(ctx.principal, query)
    limit = page_limit(query.get("limit"))
    data, cursor = await gw.usage.page(flt, query.get("cursor"), limit, newest_first=True)
    totals = await gw.usage.totals(flt)
    return JSONResponse({"data": data, "next_cursor": cursor, "totals": totals})


async def error_answers(request: Request) -> Response:
    """Answers with status 400 and above since this gateway process started, by route,
    model and status, as ``/metrics`` counts them: refusals before routing too (a wrong
    model, bad JSON, a missing key), which have no usage record to chart."""
    gw, _ = await begin(request, "dashboard_error_answers")
    return JSONResponse({"answers": error_counts(gw.metrics.render())})


async def usage_csv(request: Request) -> Response:
    """The usage table's records under its filters, as CSV (all pages, streamed)."""
    gw, ctx = await begin(request, "dashboard_usage_csv")
    flt = filter_for(ctx.principal, request.query_params)

    async def lines() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        async for row in gw.usage.rows(flt):
            writer.writerow(row)
            if out.tell() > 64 * 1024:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="gatewayz-usage.csv"'},
    )


def _limits_json(limits: KeyLimits | None) -> dict[str, int | None]:
    limits = limits or KeyLimits()
    return {"rpm": limits.rpm, "tpm": limits.tpm, "max_concurrency": limits.max_concurrency}


def _key_json(k: KeyInfo) -> dict[str, Any]:
    balance = k.balance_nano_usd
    return {
        "id": k.id,
        "name": k.name,
        "prefix": k.prefix,
        "role": "admin" if k.is_admin else ("partner" if k.is_partner else "standard"),
        "created_at": k.created_at.isoformat(),
        "revoked_at": None if k.revoked_at is None else k.revoked_at.isoformat(),
        "balance_nano_usd": None if balance is None else str(balance),
        "balance_usd": None if balance is None else nano_to_usd_string(balance),
        "limits": _limits_json(k.limits),
    }


def _check_limits(request: Request, limits: KeyLimits) -> None:
    """As ``gatewayz keys``: a key's limits on a shared database need Redis to hold."""
    if limits.rpm or limits.tpm or limits.max_concurrency:
        try:
            check_shared(request.app.state.gateway.settings, 1, True)
        except ConfigError as exc:
            raise InvalidRequest(str(exc)) from None


def _ident(request: Request) -> str:
    return f"id:{parse_id('key id', request.path_params['key_id'])}"


async def list_keys(request: Request) -> Response:
    gw, _ = await begin(request, "dashboard_keys")
    return JSONResponse({"keys": [_key_json(k) for k in await gw.dashboard.keys.list()]})


async def create_key(request: Request) -> Response:
    gw, _ = await begin(request, "dashboard_key_create")
    body = validate(KeyCreate, await read_json_object(request, gw.settings.max_body_bytes))
    balance = None if body.balance_usd is None else parse_usd(body.balance_usd)
    limits = KeyLimits(body.rpm, body.tpm, body.max_concurrency)
    _check_limits(request, limits)
    store = gw.dashboard.keys
    key = await store.create(
        body.name,
        admin=body.role == "admin",
        partner=body.role == "partner",
        balance_nano_usd=balance,
        limits=limits,
    )
    created = await store.find(key)
    # The key itself is shown once, here, and never again.
    return JSONResponse({"key": key, "info": _key_json(created)}, status_code=201)


async def revoke_key(request: Request) -> Response:
    gw, _ = await begin(request, "dashboard_key_revoke")
    info = await gw.dashboard.keys.revoke(_ident(request))
    gw.auth.forget(info.id)
    return JSONResponse(_key_json(info))


async def credit_key(request: Request) -> Response:
    gw, _ = await begin(request, "dashboard_key_credit")
    body = validate(CreditBody, await read_json_object(request, gw.settings.max_body_bytes))
    amount = parse_usd(body.usd)
    if amount == 0:
        raise InvalidRequest("credit a positive amount, e.g. 2 or 0.25")
    info = await gw.dashboard.keys.credit(_ident(request), amount)
    gw.auth.forget(info.id)  # an unlimited key became metered
    return JSONResponse({**_key_json(info), "credited_nano_usd": str(amount)})


async def set_limits(request: Request) -> Response:
    gw, _ = await begin(request, "dashboard_key_limits")
    body = validate(KeyLimitsBody, await read_json_object(request, gw.settings.max_body_bytes))
    limits = KeyLimits(body.rpm, body.tpm, body.max_concurrency)
    _check_limits(request, limits)
    key_id = parse_id("key id", request.path_params["key_id"])
    done = await gw.dashboard.keys.set_limits(f"id:{key_id}", limits, set(body.model_fields_set))
    gw.auth.forget(key_id)
    return JSONResponse({"api_key_id": key_id, "limits": _limits_json(done)})


def _page_api(path: str, endpoint: Callable[..., Any], method: str) -> FamilyRoute:
    """A route of the dashboard page's own JSON API: it takes the session cookie, not a key,
    and stays out of the OpenAPI document (the document describes the API for key holders)."""
    return FamilyRoute(path, endpoint, family=HF, methods=[method], include_in_schema=False)


ROUTES = [
    _page_api(f"{API}/session", with_session(session_info), "GET"),
    _page_api(f"{API}/series", with_session(series), "GET"),
    _page_api(f"{API}/usage", with_session(usage), "GET"),
    _page_api(f"{API}/errors", with_session(error_answers), "GET"),
    _page_api(f"{API}/usage.csv", with_session(usage_csv), "GET"),
    _page_api(f"{API}/models", with_session(models.list_models), "GET"),
    _page_api(f"{API}/routes", with_session(routing.list_routes), "GET"),
    _page_api(f"{API}/keys", with_session(list_keys), "GET"),
    _page_api(f"{API}/keys", with_session(create_key), "POST"),
    _page_api(f"{API}/keys/{{key_id}}/revoke", with_session(revoke_key), "POST"),
    _page_api(f"{API}/keys/{{key_id}}/credit", with_session(credit_key), "POST"),
    _page_api(f"{API}/keys/{{key_id}}/limits", with_session(set_limits), "PUT"),
]
