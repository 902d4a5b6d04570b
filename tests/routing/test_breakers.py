"""Circuit breakers per route: a dead upstream costs one timeout and then nothing until
its half-open probe; a flapping one opens its breaker at most once per cool-down."""

from __future__ import annotations

import time

import httpx

from tests.checks import bearer
from tests.routing.behaving_upstream import BehavingUpstream
from tests.routing.conftest import COOLDOWN_S, DEAD_TIMEOUT_S
from tests.routing.test_policies import ROUTE, chat
from tests.servers import Gateway


def transitions(gateway: Gateway, model: str, provider: str, state: str) -> int:
    """How often the route's breaker entered ``state``, from /metrics."""
    labels = f'model="{model}",provider="{provider}",state="{state}",upstream_model="m"'
    prefix = f"gatewayz_route_breaker_transitions_total{{{labels}}} "
    for line in httpx.get(f"{gateway.url}/metrics").text.splitlines():
        if line.startswith(prefix):
            return int(float(line.removeprefix(prefix)))
    return 0


def timed(gateway: Gateway, key: str, model: str) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    resp = chat(gateway, key, model)
    return resp, time.perf_counter() - start


def test_a_dead_upstream_costs_one_timeout_then_none_until_its_half_open_probe(
    routing_gateway: Gateway, key: str, admin: str
) -> None:
    # "dead" is a host that never completes a connection: each try costs the connect
    # timeout, after which the call fails over to "fast".
    first, took = timed(routing_gateway, key, "dead-first")
    assert first.status_code == 200 and first.headers[ROUTE] == "fast"
    assert took >= DEAD_TIMEOUT_S
    for _ in range(3):  # skipped at no cost
        resp, took = timed(routing_gateway, key, "dead-first")
        assert resp.status_code == 200 and resp.headers[ROUTE] == "fast"
        assert took < DEAD_TIMEOUT_S / 2

    admin_view = httpx.get(
        f"{routing_gateway.url}/hf/tasks/models/routes", headers=bearer(admin)
    ).json()
    model = next(m for m in admin_view["models"] if m["id"] == "dead-first")
    route = next(r for r in model["routes"] if r["provider"] == "dead")
    assert route["breaker"] == "open" and route["status"] == "error"
    assert 0 < route["retry_after_s"] <= COOLDOWN_S
    assert transitions(routing_gateway, "dead-first", "dead", "open") == 1
    forbidden = httpx.get(f"{routing_gateway.url}/hf/tasks/models/routes", headers=bearer(key))
    assert forbidden.status_code == 403

    time.sleep(COOLDOWN_S)
    probe, took = timed(routing_gateway, key, "dead-first")  # the half-open probe
    assert probe.status_code == 200 and took >= DEAD_TIMEOUT_S
    resp, took = timed(routing_gateway, key, "dead-first")
    assert resp.status_code == 200 and took < DEAD_TIMEOUT_S / 2
    assert transitions(routing_gateway, "dead-first", "dead", "half_open") == 1
    assert transitions(routing_gateway, "dead-first", "dead", "open") == 2


def test_all_routes_open_is_a_fast_503_with_retry_after_until_a_probe_succeeds(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    ups["flaky"].fail_every = 1  # every call fails
    for _ in range(3):  # failures_to_open
        assert chat(routing_gateway, key, "halfbad").status_code == 502
    resp, took = timed(routing_gateway, key, "halfbad")
    assert resp.status_code == 503 and took < 0.5
    assert 1 <= int(resp.headers["retry-after"]) <= COOLDOWN_S
    assert resp.json()["error"]["code"] == "routes_unavailable"
    assert resp.json()["error"]["request_id"] == resp.headers["inference-id"]
    assert ups["flaky"].hits == 3
    hf = httpx.post(
        f"{routing_gateway.url}/hf/tasks/conversational",
        headers=bearer(key),
        json={"model": "halfbad", "inputs": "Hi"},
        timeout=30,
    )
    assert hf.status_code == 503 and isinstance(hf.json()["error"], str)  # the HF shape
    assert "retry-after" in hf.headers

    ups["flaky"].fail_every = 0  # it recovers: the probe after the cool-down closes it
    time.sleep(COOLDOWN_S)
    assert chat(routing_gateway, key, "halfbad").status_code == 200
    assert chat(routing_gateway, key, "halfbad").status_code == 200
    assert transitions(routing_gateway, "halfbad", "flaky", "closed") == 1


def test_an_upstream_failing_one_request_in_two_opens_at_most_once_per_cool_down(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    flaky = ups["flaky"]
    flaky.fail_every = 2
    opened_before = transitions(routing_gateway, "halfbad", "flaky", "open")
    start = time.perf_counter()
    sent = refused = 0
    while time.perf_counter() - start < 2.5 * COOLDOWN_S:
        resp = chat(routing_gateway, key, "halfbad")
        sent += 1
        refused += resp.status_code == 503
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    opened = transitions(routing_gateway, "halfbad", "flaky", "open") - opened_before
    assert 1 <= opened <= 1 + elapsed / COOLDOWN_S, (opened, elapsed)
    assert refused > 0 and flaky.hits < sent  # while open, the upstream is spared
