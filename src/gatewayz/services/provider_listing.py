"""``GET /v1/models``' ``providers`` entries, in the shape of Hugging Face's router.

One entry per route: the route's breaker and measurements (``RouteHealth.describe``) plus
what the model's last conformance check found. ``status`` is ``error`` while the route's
breaker is open or the model's current check failed, else ``live`` - apart from the
registry's live/staging, which decides whether the model is listed at all. Tools and
structured output are claimed only when a current check saw them work; unknown is null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gatewayz.config import ModelConfig, Pricing
from gatewayz.services.model_checks import LastCheck

CHAT = "conversational"


def check_state(check: LastCheck | None, changed_at: datetime | None) -> str:
    if check is None:
        return "none"
    if check.stale(changed_at):
        return "stale"
    return "passed" if check.passed else "failed"


def _probe(check: LastCheck | None, state: str, task: str, probe: str) -> bool | None:
    if task != CHAT:
        return False
    if check is None or state == "stale":
        return None
    results = [p["result"] for p in check.probes if p["probe"] == probe]
    if not results:
        return None
    return all(r == "pass" for r in results)


def is_free(pricing: Pricing) -> bool:
    return all(not getattr(pricing, name) for name in Pricing.model_fields)


def provider_entries(
    model: ModelConfig,
    routes: list[dict[str, Any]],
    check: LastCheck | None,
    changed_at: datetime | None,
) -> list[dict[str, Any]]:
    """``routes``: ``RouteHealth.describe(model)``; each gains the check's findings."""
    state = check_state(check, changed_at)
    free = is_free(model.pricing)
    return [
        {
            **route,
            "status": "error" if route["status"] != "live" or state == "failed" else "live",
            "check": state,
            "supports_tools": _probe(check, state, model.task, "tool_call"),
            "supports_structured_output": _probe(check, state, model.task, "json_schema"),
            "is_free": free,
        }
        for route in routes
    ]
