"""What a routing decision costs: ordering a model's routes under each policy and
consulting their breakers, as the gateway does on every request.

    python bench/routing.py [--routes N] [--decisions N]

Times, in-process, ``RouteHealth.plan`` plus ``acquire`` on each route (the whole routing
decision of a request) for a model of N routes whose windows are full of measurements,
under no policy (priority/weight), ``:fastest``, ``:cheapest`` and a pinned provider, and
the recording of one outcome (``answered`` + ``measured``, which recomputes the window's
medians when next read), and both together as a busy ``:fastest`` model does. Prints
microseconds per decision: the median of 5 rounds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from gatewayz.config import ModelConfig, Pricing, RouteConfig, RoutingSettings
from gatewayz.routing.health import RouteHealth
from gatewayz.routing.policy import Policy


def model_with(routes: int) -> ModelConfig:
    return ModelConfig(
        id="bench",
        hub_model_id="org/bench",
        task="conversational",
        routes=tuple(
            RouteConfig(
                provider=f"p{i}",
                model="m",
                priority=i % 2,
                weight=1 + i,
                cost=Pricing(input_per_million_usd=f"0.{i + 1}"),
            )
            for i in range(routes)
        ),
    )


def per_call_us(work: Callable[[], object], calls: int) -> float:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            work()
        rounds.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", type=int, default=3)
    parser.add_argument("--decisions", type=int, default=20_000)
    args = parser.parse_args()
    settings = RoutingSettings()
    health = RouteHealth(settings, CollectorRegistry())
    model = model_with(args.routes)
    rng = random.Random(1)
    for route in model.routes:  # full windows, as on a busy gateway
        for _ in range(settings.window):
            health.measured(model.id, route, rng.uniform(0.1, 0.5), 100, rng.uniform(0.01, 0.1))

    def decide(policy: Policy | None) -> Callable[[], object]:
        def work() -> object:
            order = health.plan(model, model.routes, policy)
            return [health.acquire(model.id, r) for r in order]

        return work

    print(f"routing decision, {args.routes} routes, window {settings.window} (us per request)")
    for name, policy in (
        ("configured order", None),
        (":fastest", Policy("fastest")),
        (":cheapest", Policy("cheapest")),
        (":<provider>", Policy("provider", "p0")),
    ):
        print(f"  {name:<18} {per_call_us(decide(policy), args.decisions):8.2f}")
    route = model.routes[0]

    def record() -> None:
        health.answered(model.id, route)
        health.measured(model.id, route, 0.2, 100, 0.05)

    print(f"  {'record outcome':<18} {per_call_us(record, args.decisions // 4):8.2f}")
    fastest = decide(Policy("fastest"))

    def record_then_fastest() -> None:  # a busy :fastest model: one new sample per decision
        record()
        fastest()

    print(
        f"  {'record + :fastest':<18} {per_call_us(record_then_fastest, args.decisions // 4):8.2f}"
    )


if __name__ == "__main__":
    main()
