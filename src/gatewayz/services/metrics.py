"""Prometheus metrics, one registry per process (no module-level globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

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
    def __init__(self) -> None:
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

    def observe(
        self, route: str, model: str, status: int, total_s: float, upstream_s: float
    ) -> None:
        self.requests.labels(route, model, str(status)).inc()
        self.latency.labels(route).observe(total_s)
        self.overhead.labels(route).observe(max(total_s - upstream_s, 0.0))

    def meter(self, model: str, input_tokens: int, output_tokens: int, cost_nano: int) -> None:
        self.tokens.labels(model, "input").inc(input_tokens)
        self.tokens.labels(model, "output").inc(output_tokens)
        self.cost.labels(model).inc(cost_nano)

    def render(self) -> bytes:
        return generate_latest(self.registry)
