"""Request bodies of the model registry API (``/hf/tasks/models``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gatewayz.config import ModelConfig, Pricing, RouteConfig
from gatewayz.tasks import Task

Status = Literal["staging", "live"]


class MappingRequest(BaseModel):
    """``POST /hf/tasks/models/map``: register or replace one mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider_model_id: str = Field(min_length=1, max_length=200)
    hub_model_id: str = Field(min_length=1, max_length=200)
    task_type: Task
    tasks: tuple[Task, ...] = ()
    status: Status = "staging"  # as on the Hub: a new mapping starts in staging
    routes: tuple[RouteConfig, ...] = Field(min_length=1)
    pricing: Pricing = Pricing()
    context_length: int = Field(default=4096, ge=1)
    adapter_type: Literal["lora"] | None = None
    base_model: str | None = Field(default=None, min_length=1, max_length=200)
    tokenizer: str | None = Field(default=None, min_length=1, max_length=500)

    def to_model(self) -> ModelConfig:
        return ModelConfig(
            id=self.provider_model_id,
            hub_model_id=self.hub_model_id,
            task=self.task_type,
            tasks=self.tasks,
            status=self.status,
            context_length=self.context_length,
            routes=self.routes,
            pricing=self.pricing,
            adapter_type=self.adapter_type,
            base_model=self.base_model,
            tokenizer=self.tokenizer,
        )


class StatusRequest(BaseModel):
    """``PUT /hf/tasks/models/{id}/status``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Status
