"""Results of the model registry and billing routes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, NotRequired, Required, TypedDict, overload

ModelStatus = Literal["staging", "live"]


@dataclass(frozen=True, kw_only=True)
class ModelRoute:
    """Where a gateway model is served: a provider and that provider's model id."""

    provider: str
    model: str
    priority: int = 0
    weight: int = 1


@dataclass(frozen=True, kw_only=True)
class RegistryModel:
    """One mapping of the registry: a gateway model and the Hub model it is."""

    provider_model_id: str
    hub_model_id: str
    task_type: str
    tasks: list[str] = field(default_factory=list)
    status: str = "live"
    context_length: int | None = None
    # Price name (e.g. ``input_per_million_usd``) -> USD, exact.
    pricing: dict[str, Decimal] = field(default_factory=dict)
    routes: list[ModelRoute] = field(default_factory=list)
    adapter_type: str | None = None
    base_model: str | None = None
    source: str | None = None
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class ModelMapping(RegistryModel):
    """The answer to ``map_model``: the mapping as stored, and whether it is new."""

    created: bool = False


@dataclass(frozen=True, kw_only=True)
class ModelList(Sequence[RegistryModel]):
    """The models of ``list_models``; behaves as a read-only list (``len(models)``)."""

    models: list[RegistryModel]
    inference_id: str

    @overload
    def __getitem__(self, index: int) -> RegistryModel: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RegistryModel]: ...
    def __getitem__(self, index: int | slice) -> RegistryModel | Sequence[RegistryModel]:
        return self.models[index]

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[RegistryModel]:
        return iter(self.models)


@dataclass(frozen=True, kw_only=True)
class UnmappedModel:
    deleted: str
    inference_id: str


class RouteSpec(TypedDict, total=False):
    """A route for ``map_model``."""

    provider: Required[str]
    model: Required[str]
    priority: int
    weight: int


class CostItem(TypedDict, total=False):
    """The usage of one (real or hypothetical) request, for ``calculate_cost``."""

    task: Required[str]
    model: Required[str]
    input_tokens: NotRequired[int]
    output_tokens: NotRequired[int]
    images: NotRequired[int]
    input_chars: NotRequired[int]


@dataclass(frozen=True, kw_only=True)
class CostLine:
    task: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    input_chars: int = 0
    cost_nano_usd: int
    cost_usd: Decimal


@dataclass(frozen=True, kw_only=True)
class CostQuote:
    """Costs in nano-USD (an ``int``; 10**9 nano-USD = 1 USD) and as exact USD."""

    total_cost_nano_usd: int
    total_cost_usd: Decimal
    costs: list[CostLine]
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class UsageRecord:
    request_id: str
    api_key_id: int
    created_at: datetime
    route: str
    model: str | None = None
    task: str | None = None
    provider: str | None = None
    status: int
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    input_chars: int = 0
    cost_nano_usd: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_ms: float | None = None
    # Usage past the request's credit hold or its bounds, not charged; ``flags`` says why.
    uncharged_nano_usd: int = 0
    flags: str = ""


@dataclass(frozen=True, kw_only=True)
class UsageTotals:
    requests: int
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    input_chars: int = 0
    cost_nano_usd: int = 0
    cost_usd: Decimal = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class UsagePage:
    """One page of usage records (newest first); ``next_cursor`` fetches the next."""

    data: list[UsageRecord]
    next_cursor: str | None = None
    totals: UsageTotals
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class RequestCost:
    request_id: str = field(metadata={"json": "requestId"})
    cost_nano_usd: int = field(metadata={"json": "costNanoUsd"})


@dataclass(frozen=True, kw_only=True)
class RequestCosts:
    """The billing lookup's answer: one entry per known request id (unknown ones are
    left out)."""

    requests: list[RequestCost]
    inference_id: str

    def by_id(self) -> dict[str, int]:
        """Request id -> cost in nano-USD."""
        return {r.request_id: r.cost_nano_usd for r in self.requests}


@dataclass(frozen=True, kw_only=True)
class Balance:
    api_key_id: int
    unlimited: bool
    balance_nano_usd: int | None = None
    balance_usd: Decimal | None = None
    inference_id: str
