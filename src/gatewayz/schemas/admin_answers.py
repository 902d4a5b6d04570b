"""The answers of the billing, registry and operational routes, and the query parameters of
their GET routes, as the API document describes them (checked against every answer by
the schemathesis run in tests/openapi). Amounts are integer nano-USD with their exact
decimal USD string beside them; prices are decimal strings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gatewayz.schemas.query import MAX_ID
from gatewayz.tasks import Task

NanoUsd = int
UsdString = str


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CostQuote(BaseModel):
    task: str
    model: str
    input_tokens: int
    output_tokens: int
    images: int
    input_chars: int
    cost_nano_usd: NanoUsd
    cost_usd: UsdString


class CostAnswer(_Closed):
    """``POST /hf/tasks/billing/cost``."""

    total_cost_nano_usd: NanoUsd
    total_cost_usd: UsdString
    costs: list[CostQuote]


class RequestCost(_Closed):
    requestId: str
    costNanoUsd: NanoUsd


class CostLookupAnswer(_Closed):
    """``POST /v1/billing/requests``: the ids that are known (a failed request costs 0)."""

    requests: list[RequestCost]


class Balance(_Closed):
    """``GET /v1/billing/balance``: the key's credit (``unlimited`` keys have none)."""

    api_key_id: int
    unlimited: bool
    balance_nano_usd: NanoUsd | None
    balance_usd: UsdString | None


class UsageRecord(BaseModel):
    request_id: str
    api_key_id: int | None
    created_at: str
    route: str
    model: str | None
    task: str | None
    provider: str | None
    status: int
    input_tokens: int
    output_tokens: int
    images: int
    input_chars: int
    cost_nano_usd: NanoUsd
    cost_usd: UsdString


class UsageTotals(_Closed):
    requests: int
    input_tokens: int
    output_tokens: int
    images: int
    input_chars: int
    cost_nano_usd: NanoUsd
    cost_usd: UsdString


class UsagePage(_Closed):
    """``GET /hf/tasks/billing/usage``: one page of records, and totals over the range."""

    data: list[UsageRecord]
    next_cursor: str | None
    totals: UsageTotals


class UsageQuery(BaseModel):
    """Filters of ``GET /hf/tasks/billing/usage`` (times are ISO 8601)."""

    api_key_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="another key's records (admin keys)"
    )
    start: str | None = Field(default=None, description="from this time, included")
    end: str | None = Field(default=None, description="until this time, excluded")
    model: str | None = None
    task: str | None = None
    limit: int | None = Field(default=None, ge=1, le=1000, description="records per page")
    cursor: str | None = Field(default=None, description="``next_cursor`` of the last page")


class RegistryEntry(BaseModel):
    """A model registry entry; admins also see ``routes``, ``tokenizer`` and ``source``."""

    model_config = ConfigDict(extra="allow")

    provider_model_id: str
    hub_model_id: str
    task_type: str
    tasks: list[str]
    status: Literal["staging", "live"]
    context_length: int
    pricing: dict[str, str]
    adapter_type: str | None
    base_model: str | None


class MappingList(_Closed):
    """``GET /hf/tasks/models``."""

    models: list[RegistryEntry]


class ModelsQuery(BaseModel):
    task_type: Task | None = None
    status: Literal["staging", "live"] | None = None


class StatusQuery(BaseModel):
    status: Literal["staging", "live"] | None = None


class HubItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    providerId: str
    status: Literal["staging", "live"]


# ``GET /hf/tasks/models/registry``: task -> Hub model id -> item, the Hub's own shape.
HubListing = dict[str, dict[str, HubItem]]


class Unmapped(_Closed):
    deleted: str


class AuditEntry(_Closed):
    at: str
    actor: str
    action: str
    model_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditTrail(_Closed):
    """``GET /hf/tasks/models/audit``: newest first."""

    entries: list[AuditEntry]


class AuditQuery(BaseModel):
    limit: int | None = Field(default=None, ge=1, le=1000)
    model_id: str | None = None


class ModelRoutes(_Closed):
    id: str
    policy: str | None
    routes: list[dict[str, Any]]


class RouteTable(_Closed):
    """``GET /hf/tasks/models/routes`` (admin): every route's breaker and measurements."""

    models: list[ModelRoutes]


class Status(_Closed):
    status: Literal["ok", "ready"]
