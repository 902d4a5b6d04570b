"""Routing policies, in Hugging Face's router syntax: ``model:fastest``,
``model:cheapest``, ``model:<provider>``.

A suffix is a policy only when it names one or one of the model's providers, so ids that
contain ``:`` themselves (``qwen2.5:0.5b``) keep working: the whole id is looked up first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal

from gatewayz.config import ModelConfig, Pricing, RouteConfig
from gatewayz.errors import InvalidRequest
from gatewayz.routing.measurements import Summary

POLICIES = ("fastest", "cheapest")


@dataclass(frozen=True, slots=True)
class Policy:
    """``fastest``, ``cheapest``, or ``provider`` (then ``provider`` names it: pinned)."""

    name: str
    provider: str | None = None

    @property
    def pinned(self) -> bool:
        return self.provider is not None


def shown_names(model: ModelConfig, public: AbstractSet[str]) -> dict[str, str]:
    """Each of ``model``'s providers -> the name callers see: its own if it is ``public``,
    else ``provider-<n>`` (n counting the model's private providers in route order)."""
    names: dict[str, str] = {}
    for route in model.routes:
        if route.provider not in names:
            hidden = len(names) - sum(1 for p in names if p in public)
            names[route.provider] = (
                route.provider if route.provider in public else f"provider-{hidden + 1}"
            )
    return names


def parse_policy(suffix: str, model: ModelConfig, names: Mapping[str, str]) -> Policy:
    """The policy ``suffix`` names for ``model`` (``names``: its providers as callers see
    them); 400 naming the choices otherwise."""
    if suffix in POLICIES:
        return Policy(suffix)
    for provider, shown in names.items():
        if shown == suffix:
            return Policy("provider", provider)
    raise InvalidRequest(
        f"{suffix!r} is neither a routing policy nor a provider of model {model.id!r}; "
        f"choose one of: {', '.join([*POLICIES, *sorted(names.values())])}",
        code="invalid_routing_policy",
    )


def default_policy(model: ModelConfig) -> Policy | None:
    return Policy(model.policy) if model.policy is not None else None


def route_order(routes: tuple[RouteConfig, ...], rng: random.Random) -> list[RouteConfig]:
    """Routes in the configured order: by priority (lower first), and within a priority
    drawn by weight, so traffic spreads and a failed route falls through to the next.
    (A weighted shuffle: each route's key is ``u ** (1 / weight)`` for a uniform ``u``,
    the largest first - the same draw as picking by weight, one route after another.)"""
    if len(routes) == 1:
        return list(routes)
    keyed = [(r.priority, -(rng.random() ** (1 / r.weight)), i) for i, r in enumerate(routes)]
    keyed.sort()
    return [routes[i] for _, _, i in keyed]


def _cost_key(route: RouteConfig) -> tuple[bool, Decimal, Decimal, Decimal, Decimal]:
    """Cheaper first: per million tokens (input + output), then per request, per image,
    per 1,000 characters; a route without ``cost`` comes after every priced one."""
    cost = route.cost or Pricing()
    return (
        route.cost is None,
        cost.input_per_million_usd + cost.output_per_million_usd,
        cost.per_request_usd,
        cost.per_image_usd,
        cost.per_1k_chars_usd,
    )


def ordered(
    routes: tuple[RouteConfig, ...],
    policy: Policy | None,
    measured: Callable[[RouteConfig], Summary],
    min_samples: int,
    rng: random.Random,
) -> list[RouteConfig]:
    """The routes to try, in order, under ``policy`` (None: the configured order).
    Sorting is stable, so ties keep the configured order."""
    if policy is None:
        return route_order(routes, rng)
    if policy.pinned:
        return route_order(tuple(r for r in routes if r.provider == policy.provider), rng)
    base = route_order(routes, rng)
    if policy.name == "cheapest":
        return sorted(base, key=_cost_key)

    def speed(route: RouteConfig) -> tuple[int, float]:
        # Unmeasured first (so every route gets measured), then the highest throughput,
        # then (for calls without tokens) the lowest latency.
        summary = measured(route)
        if summary.samples < min_samples:
            return (0, 0.0)
        if summary.tokens_per_s is not None:
            return (1, -summary.tokens_per_s)
        if summary.latency_s is not None:
            return (2, summary.latency_s)
        return (3, 0.0)  # only failures so far

    return sorted(base, key=speed)
