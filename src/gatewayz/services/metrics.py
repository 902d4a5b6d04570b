"""Prometheus metrics, one registry per process (no module-level globals)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

# Set by ``gatewayz serve --workers N`` (N > 1) before the workers start; read by
# prometheus_client itself when it is imported, and passed to ``Metrics`` by the app.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)


class Metrics:
    def __init__(self, multiprocess_dir: str | None = None) -> None:
        # With several workers each process records into ``multiprocess_dir`` and any of
        # them renders the sum (the values live in files there, not in this registry).
        self._multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gatewayz_requests_total",
            "Requests answered, by route, model and HTTP status.",
            ("route", "model", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "gatewayz_request_duration_seconds",
            "Time from request received to response finished.",
            ("route",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.overhead = Histogram(
            "gatewayz_gateway_added_seconds",
            "Time the gateway itself added: total duration minus time waiting on the upstream.",
            ("route",),
            buckets=_OVERHEAD_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "gatewayz_tokens_total",
            "Tokens metered, by model and direction (input/output).",
            ("model", "direction"),
            registry=self.registry,
        )
        self.cost = Counter(
            "gatewayz_cost_nano_usd_total",
            "Cost metered, in nano-USD, by model.",
            ("model",),
            registry=self.registry,
        )
        self.refused = Counter(
            "gatewayz_rate_limited_total",
            "Requests refused by a rate limit (429), by scope (key/model) and limit.",
            ("scope", "limit"),
            registry=self.registry,
        )
        self.limiter_down = Counter(
            "gatewayz_rate_limiter_unavailable_total",
            "Rate-limit decisions the shared store could not make in time, by outcome "
            "(allowed, denied; release_failed: a slot left to expire).",
            ("outcome",),
            registry=self.registry,
        )

        # ``labels()`` validates and locks on every call; the children it returns are
        # stable, so each label combination is looked up once and kept here.
        self._by_request: dict[tuple[str, str, int], Any] = {}
        self._by_route: dict[str, tuple[Any, Any]] = {}
        self._by_model: dict[str, tuple[Any, Any, Any]] = {}
        # Called before each render, to refresh values computed on demand.
        self._before_render: list[Callable[[], None]] = []

    def before_render(self, hook: Callable[[], None]) -> None:
        self._before_render.append(hook)

    def observe(
        self, route: str, model: str, status: int, total_s: float, upstream_s: float
    ) -> None:
        key = (route, model, status)
        count = self._by_request.get(key)
        if count is None:
            count = self._by_request[key] = self.requests.labels(route, model, str(status))
        timers = self._by_route.get(route)
        if timers is None:
            timers = self._by_route[route] = (
                self.latency.labels(route),
                self.overhead.labels(route),
            )
        count.inc()
        timers[0].observe(total_s)
        timers[1].observe(max(total_s - upstream_s, 0.0))

    def meter(self, model: str, input_tokens: int, output_tokens: int, cost_nano: int) -> None:
        counters = self._by_model.get(model)
        if counters is None:
            counters = self._by_model[model] = (
                self.tokens.labels(model, "input"),
                self.tokens.labels(model, "output"),
                self.cost.labels(model),
            )
        counters[0].inc(input_tokens)
        counters[1].inc(output_tokens)
        counters[2].inc(cost_nano)

    def rate_limited(self, scope: str, limit: str) -> None:
        self.refused.labels(scope, limit).inc()

    def limiter_unavailable(self, outcome: str) -> None:
        self.limiter_down.labels(outcome).inc()

    @property
    def shared(self) -> bool:
        """Several worker processes record into one view (and any of them renders it)."""
        return self._multiprocess_dir is not None

    def render(self) -> bytes:
        for hook in self._before_render:
            hook()
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        MultiProcessCollector(combined, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(combined)
