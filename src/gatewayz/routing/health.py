"""The per-route table: a breaker and a measurement window for each route of each model,
what the inference service consults to order and skip routes and reports every outcome
to. Kept per process (each worker learns on its own; all of them export to /metrics).

A route is ``(model id, provider, upstream model)``. Routes are created on first use and
forgotten never: their number is bounded by the registry's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from gatewayz.config import ModelConfig, RouteConfig, RoutingSettings
from gatewayz.errors import RoutesUnavailable, UpstreamError, UpstreamRejected
from gatewayz.routing.breaker import STATE_VALUES, Breaker, State
from gatewayz.routing.measurements import Sample, Summary, Window
from gatewayz.routing.policy import Policy, default_policy, ordered, parse_policy, shown_names

RouteKey = tuple[str, str, str]
_LABELS = ("model", "provider", "upstream_model")
# A private provider a usage record names that the configuration no longer places.
PRIVATE_PROVIDER = "private"


def route_key(model_id: str, route: RouteConfig) -> RouteKey:
    return (model_id, route.provider, route.model)


def is_failure(exc: UpstreamError) -> bool:
    """Whether ``exc`` says the route is unwell; an upstream refusing the caller's own
    request (400, 413, 422) is answering normally."""
    return not isinstance(exc, UpstreamRejected) or exc.status == 429


def is_dead(exc: UpstreamError) -> bool:
    """No connection within the connect timeout: a host that is down or cut off, where
    every call would cost the whole timeout."""
    return exc.connect_timed_out


class _Gauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.state = Gauge(
            "gatewayz_route_breaker_state",
            "Circuit breaker of each route: 0 closed, 1 open, 2 half-open.",
            _LABELS,
            registry=registry,
            multiprocess_mode="all",
        )
        self.transitions = Counter(
            "gatewayz_route_breaker_transitions_total",
            "Circuit breaker transitions of each route, by the state entered.",
            (*_LABELS, "state"),
            registry=registry,
        )
        self.values = {
            name: Gauge(
                f"gatewayz_route_{name}",
                text,
                _LABELS,
                registry=registry,
                multiprocess_mode="all",
            )
            for name, text in (
                ("latency_seconds", "Median latency of the route's recent successful calls."),
                ("first_token_seconds", "Median time to first token of its recent streams."),
                ("throughput_tokens_per_second", "Median output tokens/s of its recent calls."),
                ("error_ratio", "Share of failed calls among the route's recent calls."),
                ("samples", "Calls in the route's measurement window."),
            )
        }


# A route's measurement gauges are refreshed at most this often by its calls (and by
# every /metrics render), so that a call does not pay for its window's medians.
EXPORT_INTERVAL_S = 1.0


class _Route:
    __slots__ = ("breaker", "exported_at", "labels", "window")

    def __init__(self, breaker: Breaker, window: Window, labels: tuple[str, ...]) -> None:
        self.breaker = breaker
        self.window = window
        self.labels = labels
        self.exported_at = float("-inf")


class RouteHealth:
    def __init__(
        self,
        settings: RoutingSettings,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        public: frozenset[str] = frozenset(),
    ) -> None:
        self.settings = settings
        self._public = public  # providers whose names callers may see
        self._clock = clock
        self._gauges = _Gauges(registry) if registry is not None else None
        self._routes: dict[RouteKey, _Route] = {}
        self._rng = random.Random()

    def _route(self, key: RouteKey) -> _Route:
        route = self._routes.get(key)
        if route is None:
            gauges = self._gauges

            def changed(state: State) -> None:
                if gauges is not None:
                    gauges.state.labels(*key).set(STATE_VALUES[state])
                    gauges.transitions.labels(*key, state).inc()

            route = self._routes[key] = _Route(
                Breaker(self.settings, changed), Window(self.settings.window), key
            )
            if gauges is not None:
                gauges.state.labels(*key).set(0)
        return route

    def summary(self, model_id: str, route: RouteConfig) -> Summary:
        return self._route(route_key(model_id, route)).window.summary

    def state(self, model_id: str, route: RouteConfig) -> State:
        return self._route(route_key(model_id, route)).breaker.state

    def names(self, model: ModelConfig) -> dict[str, str]:
        """``model``'s providers -> the names callers see (``ProviderConfig.public``)."""
        return shown_names(model, self._public)

    def shown_provider(self, model: ModelConfig | None, provider: str) -> str:
        """``provider`` (of a usage record for ``model``) as a caller sees it: as in
        ``names``; a private provider that is no longer one of the model's (or of a model
        no longer configured) is shown as ``PRIVATE_PROVIDER``; "" (no route answered)
        stays ""."""
        if provider == "" or provider in self._public:
            return provider
        shown = self.names(model).get(provider) if model is not None else None
        return shown if shown is not None else PRIVATE_PROVIDER

    def policy(self, model: ModelConfig, suffix: str | None) -> Policy | None:
        """The policy a request for ``model:<suffix>`` asks for (no suffix: the model's
        default); 400 naming the choices when ``suffix`` names none."""
        if suffix is None:
            return default_policy(model)
        return parse_policy(suffix, model, self.names(model))

    def plan(
        self, model: ModelConfig, routes: tuple[RouteConfig, ...], policy: Policy | None
    ) -> list[RouteConfig]:
        """``routes`` in the order ``policy`` gives (breakers are consulted as each is
        tried, by ``acquire``)."""
        return ordered(
            routes,
            policy,
            lambda r: self.summary(model.id, r),
            self.settings.min_samples,
            self._rng,
        )

    def acquire(self, model_id: str, route: RouteConfig) -> bool:
        """May ``route`` be called now (False: its breaker is open; skip it)?"""
        return self._route(route_key(model_id, route)).breaker.acquire(self._clock())

    def retry_after(self, model_id: str, route: RouteConfig) -> float:
        """Seconds until ``route`` may be tried again (0: now)."""
        return round(self._route(route_key(model_id, route)).breaker.retry_after(self._clock()), 3)

    def unavailable(
        self, model: ModelConfig, routes: list[RouteConfig], policy: Policy | None
    ) -> RoutesUnavailable:
        """The error when every route in ``routes`` (those ``policy`` allows) was skipped by
        its breaker; a pin names the provider as the caller wrote it, since the model's
        other routes may be healthy."""
        now = self._clock()
        wait = min(self._route(route_key(model.id, r)).breaker.retry_after(now) for r in routes)
        if policy is not None and policy.provider is not None:
            pin = f"{model.id}:{self.names(model)[policy.provider]}"
            which = f"the route pinned by {pin!r} is failing and paused"
        else:
            which = f"every route of model {model.id!r} is failing and paused"
        return RoutesUnavailable(f"{which}; retry in {max(1, round(wait))} s", retry_after_s=wait)

    def answered(self, model_id: str, route: RouteConfig) -> None:
        """The route answered (a stream: its first chunk): its breaker closes."""
        self._route(route_key(model_id, route)).breaker.succeeded()

    def measured(
        self,
        model_id: str,
        route: RouteConfig,
        latency_s: float,
        output_tokens: int = 0,
        first_token_s: float | None = None,
    ) -> None:
        """A successful call's figures: throughput counts from the first token when known."""
        generating = latency_s - (first_token_s or 0.0)
        tokens_per_s = output_tokens / generating if output_tokens and generating > 0 else None
        self._add(model_id, route, Sample(True, latency_s, first_token_s, tokens_per_s))

    def failed(self, model_id: str, route: RouteConfig, exc: UpstreamError) -> None:
        entry = self._route(route_key(model_id, route))
        if not is_failure(exc):
            entry.breaker.succeeded()
            return
        entry.breaker.failed(self._clock(), dead=is_dead(exc))
        self._add(model_id, route, Sample(False))

    def _add(self, model_id: str, route: RouteConfig, sample: Sample) -> None:
        entry = self._route(route_key(model_id, route))
        entry.window.add(sample)
        now = self._clock()
        if now - entry.exported_at >= EXPORT_INTERVAL_S:
            self._export(entry, now)

    def export(self) -> None:
        """Bring every route's measurement gauges up to date (before /metrics renders)."""
        now = self._clock()
        for entry in self._routes.values():
            self._export(entry, now)

    def _export(self, entry: _Route, now: float) -> None:
        entry.exported_at = now
        if self._gauges is not None:
            s = entry.window.summary
            values = self._gauges.values
            for name, value in (
                ("latency_seconds", s.latency_s),
                ("first_token_seconds", s.first_token_s),
                ("throughput_tokens_per_second", s.tokens_per_s),
                ("error_ratio", s.error_ratio),
                ("samples", s.samples),
            ):
                if value is not None:
                    values[name].labels(*entry.labels).set(value)

    def describe(self, model: ModelConfig) -> list[dict[str, Any]]:
        """Each route's state and measurements, as ``GET /v1/models`` lists providers."""
        out = []
        names = self.names(model)
        for route in model.routes:
            entry = self._route(route_key(model.id, route))
            s = entry.window.summary
            out.append(
                {
                    "provider": names[route.provider],
                    "status": "live" if entry.breaker.state == "closed" else "error",
                    "breaker": entry.breaker.state,
                    "context_length": model.context_length,
                    "first_token_latency_ms": _ms(s.first_token_s),
                    "latency_ms": _ms(s.latency_s),
                    "throughput": None if s.tokens_per_s is None else round(s.tokens_per_s, 1),
                    "error_ratio": round(s.error_ratio, 3),
                    "samples": s.samples,
                }
            )
        return out


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)
