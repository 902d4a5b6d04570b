"""Request bodies of conformance check results (``POST /hf/tasks/models/{id}/checks``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_PROBES = 200


class ProbeResult(BaseModel):
    """One probe of one client: ``pass``, ``fail`` (with why) or ``skip`` (with why)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probe: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")
    client: Literal["python", "js"]
    result: Literal["pass", "fail", "skip"]
    reason: str | None = Field(default=None, max_length=2000)
    latency_ms: int | None = Field(default=None, ge=0, le=86_400_000)


class CheckReport(BaseModel):
    """A model's check; whether it passed is decided by the gateway from the probes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probes: tuple[ProbeResult, ...] = Field(min_length=1, max_length=MAX_PROBES)
    # The model's ``changed_at`` when the check started (from ``GET /hf/tasks/models``):
    # a model changed since then was not the one checked, and the report is refused.
    changed_at: datetime | None = None

    def probe_dicts(self) -> list[dict[str, Any]]:
        return [p.model_dump() for p in self.probes]
