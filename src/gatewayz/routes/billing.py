"""Billing routes: the cost calculator, Hugging Face's cost lookup, usage, and balance."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.errors import InvalidTaskInput
from gatewayz.http.api import Api
from gatewayz.http.body import read_json_object
from gatewayz.http.families import HF, OPENAI, FamilyRoute
from gatewayz.http.responses import JSONResponse
from gatewayz.money import nano_to_usd_string
from gatewayz.routes.common import begin
from gatewayz.schemas.admin_answers import (
    Balance,
    CostAnswer,
    CostLookupAnswer,
    UsagePage,
    UsageQuery,
)
from gatewayz.schemas.billing import CostLookup, CostRequest
from gatewayz.services.usage import filter_for, page_limit, show_providers

# 10,000 request ids of up to ~100 characters each, whatever the general body limit is.
LOOKUP_BODY_BYTES = 2 * 1024 * 1024
TAG = "Billing"
COST = Api("Price hypothetical requests", TAG, body=CostRequest, answer=CostAnswer)
LOOKUP = Api(
    "Look up what served requests cost",
    TAG,
    body=CostLookup,
    answer=CostLookupAnswer,
    description="Hugging Face's billing lookup, for admin and partner keys.",
)
USAGE: Api[Any] = Api("Read usage records", TAG, answer=UsagePage, query=UsageQuery)
BALANCE: Api[Any] = Api("Read the key's credit balance", TAG, answer=Balance)


async def cost(request: Request) -> Response:
    gw, _ = await begin(request, "billing_cost")
    body = await read_json_object(request, gw.settings.max_body_bytes)
    return JSONResponse(gw.billing.quote(COST.validate(body, InvalidTaskInput)))


async def lookup(request: Request) -> Response:
    gw, ctx = await begin(request, "billing_requests")
    gw.billing.authorize_lookup(ctx.principal)
    body = await read_json_object(request, max(gw.settings.max_body_bytes, LOOKUP_BODY_BYTES))
    ids = LOOKUP.validate(body, InvalidTaskInput).requestIds
    return JSONResponse({"requests": await gw.billing.costs(ctx.principal, ids)})


async def usage(request: Request) -> Response:
    gw, ctx = await begin(request, "billing_usage")
    query = request.query_params
    flt = filter_for(ctx.principal, query)
    data, cursor = await gw.usage.page(flt, query.get("cursor"), page_limit(query.get("limit")))
    if not ctx.principal.is_admin:
        show_providers(data, gw.inference.shown_provider)
    totals = await gw.usage.totals(flt)
    return JSONResponse({"data": data, "next_cursor": cursor, "totals": totals})


async def balance(request: Request) -> Response:
    gw, ctx = await begin(request, "billing_balance")
    nano = await gw.credits.balance(ctx.principal.key_id)
    return JSONResponse(
        {
            "api_key_id": ctx.principal.key_id,
            "unlimited": nano is None,
            "balance_nano_usd": nano,
            "balance_usd": None if nano is None else nano_to_usd_string(nano),
        }
    )


ROUTES = [
    FamilyRoute("/hf/tasks/billing/cost", cost, family=HF, methods=["POST"], api=COST),
    FamilyRoute("/hf/tasks/billing/usage", usage, family=HF, methods=["GET"], api=USAGE),
    FamilyRoute("/v1/billing/requests", lookup, family=OPENAI, methods=["POST"], api=LOOKUP),
    FamilyRoute("/v1/billing/balance", balance, family=OPENAI, methods=["GET"], api=BALANCE),
]
