"""Request bodies of the model registry API (``/hf/tasks/models``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gatewayz.config import MAX_INT32, ModelConfig, Pricing, RouteConfig
from gatewayz.tasks import Task

Status = Literal["staging", "live"]


class MappingRequest(BaseModel):
    """``POST /hf/tasks/models/map``: register or replace one mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider_model_id: str = Field(min_length=1, max_length=200)
    hub_model_id: str = Field(min_length=1, max_length=200)
    task_type: Task
    tasks: tuple[Task, ...] = ()
    # None: a new mapping starts in staging (as on the Hub) and a re-map keeps its status,
    # so re-running a mapping never demotes a live model.
    status: Status | None = None
    routes: tuple[RouteConfig, ...] = Field(min_length=1)
    pricing: Pricing = Pricing()
    context_length: int = Field(default=4096, ge=1, le=MAX_INT32)
    adapter_type: Literal["lora"] | None = None
    base_model: str | None = Field(default=None, min_length=1, max_length=200)
    tokenizer: str | None = Field(default=None, min_length=1, max_length=500)
    policy: Literal["fastest", "cheapest"] | None = None
    # Served, but never pushed to the Hub by ``hf sync``.
    local_only: bool = False
    # Going live here needs a current passing ``gatewayz hf check``, as with set-status;
    # ``force`` takes it live without one (audited as forced).
    force: bool = False

    @model_validator(mode="after")
    def _no_nul(self) -> MappingRequest:
        # No id or path holds one, and PostgreSQL text cannot: refused on every backend.
        texts = (
            self.provider_model_id,
            self.hub_model_id,
            self.base_model or "",
            self.tokenizer or "",
            *(r.provider for r in self.routes),
            *(r.model for r in self.routes),
        )
        if any("\x00" in text for text in texts):
            raise ValueError("ids, routes and paths must not contain NUL characters")
        return self

    def given(self) -> frozenset[str]:
        """The ``ModelConfig`` fields this request names: a re-map of an existing model
        changes only those, the others keep their stored values (``status`` included, so
        a re-run never demotes a live model, and a missing ``pricing`` never makes one free)."""
        named = self.model_fields_set - {"force"} - ({"status"} if self.status is None else set())
        return frozenset(_FIELDS[name] for name in named)

    def to_model(self) -> ModelConfig:
        return ModelConfig(
            id=self.provider_model_id,
            hub_model_id=self.hub_model_id,
            task=self.task_type,
            tasks=self.tasks,
            status=self.status or "staging",
            context_length=self.context_length,
            routes=self.routes,
            pricing=self.pricing,
            adapter_type=self.adapter_type,
            base_model=self.base_model,
            tokenizer=self.tokenizer,
            policy=self.policy,
            local_only=self.local_only,
        )


# Request field -> ModelConfig field.
_FIELDS = {
    "provider_model_id": "id",
    "hub_model_id": "hub_model_id",
    "task_type": "task",
    "tasks": "tasks",
    "status": "status",
    "routes": "routes",
    "pricing": "pricing",
    "context_length": "context_length",
    "adapter_type": "adapter_type",
    "base_model": "base_model",
    "tokenizer": "tokenizer",
    "policy": "policy",
    "local_only": "local_only",
}


class StatusRequest(BaseModel):
    """``PUT /hf/tasks/models/{id}/status``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Status
    # Live without a current, passing conformance check (audited as forced).
    force: bool = False
