"""Billing: what a request costs (the calculator) and what each served request cost (the
lookup Hugging Face's router calls every minute with up to 10,000 request ids).

Pricing rule for recorded requests: a request that succeeded (status < 400) is billed at
its recorded cost; a stream the client closed early (recorded as 499) is billed for the
tokens actually produced - HF saw a 200, since the headers had gone out. A request that
failed is *known* with cost 0, so HF stops asking about it instead of retrying for 30
minutes (HF only asks about 2xx/3xx responses anyway).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.tables import api_keys, usage_records
from gatewayz.errors import GatewayError, InvalidTaskInput, PermissionDenied
from gatewayz.money import MAX_NANO_USD, Usage, cost_nano_usd, nano_to_usd_string
from gatewayz.schemas.billing import CostRequest
from gatewayz.services.catalog import Catalog
from gatewayz.services.keys import Principal

# Bound parameters per IN (...) query: far below SQLite's and asyncpg's limits, and large
# enough that 10,000 ids take only a handful of index lookups.
LOOKUP_CHUNK = 2_000
CLIENT_CLOSED = 499


def billable(status: int, cost: int) -> int:
    """The cost HF is told for a recorded request with this status."""
    return cost if status < 400 or status == CLIENT_CLOSED else 0


class BillingService:
    """``flush`` is awaited before a lookup: it waits (a bounded time) for this process's
    spooled usage records to reach the database (``UsageLedger.flush``)."""

    def __init__(
        self, engine: AsyncEngine, catalog: Catalog, flush: Callable[[], Awaitable[None]]
    ) -> None:
        self._engine = engine
        self._catalog = catalog
        self._flush = flush

    def quote(self, body: CostRequest) -> dict[str, Any]:
        """Price each item with its model's pricing; a bad item is a 422 naming its index."""
        costs: list[dict[str, Any]] = []
        total = 0
        for index, item in enumerate(body.requests):
            try:
                model = self._catalog.resolve(item.model, item.task)
            except GatewayError as exc:
                raise InvalidTaskInput(f"requests[{index}]: {exc.message}") from None
            usage = Usage(
                input_tokens=item.input_tokens,
                output_tokens=item.output_tokens,
                images=item.images,
                input_chars=item.input_chars,
            )
            cost = cost_nano_usd(model.pricing, usage)
            total += cost
            if total > MAX_NANO_USD:
                raise InvalidTaskInput(
                    f"requests[{index}]: the total cost exceeds the largest amount the "
                    f"gateway records ({nano_to_usd_string(MAX_NANO_USD)} USD)"
                )
            costs.append(
                {**item.model_dump(), "cost_nano_usd": cost, "cost_usd": nano_to_usd_string(cost)}
            )
        return {
            "total_cost_nano_usd": total,
            "total_cost_usd": nano_to_usd_string(total),
            "costs": costs,
        }

    @staticmethod
    def authorize_lookup(principal: Principal) -> None:
        if not (principal.is_admin or principal.is_partner):
            raise PermissionDenied("billing lookups need an admin or partner API key")

    async def costs(self, principal: Principal, request_ids: list[str]) -> list[dict[str, Any]]:
        """``[{"requestId", "costNanoUsd"}]`` for the ids that are known, in any order.

        Admin keys see every request; a partner key sees the requests made with partner
        keys (so HF's router can rotate its key without losing unbilled requests)."""
        self.authorize_lookup(principal)
        # An id with a NUL character matches nothing (PostgreSQL text cannot hold one).
        wanted = [rid for rid in dict.fromkeys(request_ids) if "\x00" not in rid]
        u = usage_records.c
        query = select(u.request_id, u.status, u.cost_nano_usd)
        if not principal.is_admin:
            partners = select(api_keys.c.id).where(api_keys.c.is_partner.is_(True))
            query = query.where(u.api_key_id.in_(partners.scalar_subquery()))
        found: list[dict[str, Any]] = []
        await self._flush()
        async with self._engine.connect() as conn:
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                chunk = wanted[start : start + LOOKUP_CHUNK]
                rows = await conn.execute(query.where(u.request_id.in_(chunk)))
                found.extend(
                    {"requestId": rid, "costNanoUsd": billable(status, int(cost))}
                    for rid, status, cost in rows
                )
        return found
