"""Routing policies chosen by the caller (``model:fastest``, ``model:cheapest``,
``model:<provider>``), over real local upstreams of different speeds."""

from __future__ import annotations

import httpx

from tests.checks import bearer
from tests.routing.behaving_upstream import BehavingUpstream
from tests.servers import Gateway

ROUTE = "x-gatewayz-route"


def chat(gateway: Gateway, key: str, model: str, stream: bool = False) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers=bearer(key),
        timeout=30,
        json={"model": model, "stream": stream, "messages": [{"role": "user", "content": "Hi"}]},
    )


def routed(gateway: Gateway, key: str, model: str) -> str:
    resp = chat(gateway, key, model)
    assert resp.status_code == 200, resp.text
    return resp.headers[ROUTE]


def test_fastest_picks_the_fast_route_after_warm_up_and_moves_when_it_slows(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    ups["fast"].delay_s, ups["slow"].delay_s = 0.01, 0.2
    # Warm-up: unmeasured routes go first, so both get their two samples.
    warm_up = [routed(routing_gateway, key, "race:fastest") for _ in range(4)]
    assert sorted(warm_up) == ["fast", "fast", "slow", "slow"]
    assert [routed(routing_gateway, key, "race:fastest") for _ in range(5)] == ["fast"] * 5

    ups["fast"].delay_s = 0.6  # now slower than "slow"
    moved_after = None
    for i in range(1, 8):
        if routed(routing_gateway, key, "race:fastest") == "slow":
            moved_after = i
            break
    # The median of a 6-call window turns once 4 of its calls are slow.
    assert moved_after is not None and moved_after <= 5, moved_after
    assert [routed(routing_gateway, key, "race:fastest") for _ in range(3)] == ["slow"] * 3


def test_cheapest_follows_cost_and_a_model_may_make_it_its_default(
    routing_gateway: Gateway, key: str
) -> None:
    # "slow" costs the least; "flaky" has no cost, so it comes last.
    assert [routed(routing_gateway, key, "deals:cheapest") for _ in range(3)] == ["slow"] * 3
    assert routed(routing_gateway, key, "deals") == "fast"  # the configured priority
    assert routed(routing_gateway, key, "thrifty") == "slow"  # policy: cheapest
    assert routed(routing_gateway, key, "thrifty:fast") == "fast"


def test_a_pinned_route_never_fails_over(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    assert routed(routing_gateway, key, "pin:fast") == "fast"
    before = ups["fast"].hits
    first = chat(routing_gateway, key, "pin:dead")  # a host that is down
    assert first.status_code == 502, first.text
    assert first.json()["error"]["code"] == "upstream_unavailable"
    second = chat(routing_gateway, key, "pin:dead")  # its breaker is open now
    assert second.status_code == 503
    assert int(second.headers["retry-after"]) >= 1
    assert second.json()["error"]["code"] == "routes_unavailable"
    message = second.json()["error"]["message"]
    assert "the route pinned by 'pin:dead' is failing and paused" in message
    assert "every route" not in message  # the model's other route is healthy
    assert ups["fast"].hits == before
    assert routed(routing_gateway, key, "pin") == "fast"


def test_a_suffix_is_a_policy_only_when_it_names_one(routing_gateway: Gateway, key: str) -> None:
    assert routed(routing_gateway, key, "qwen2.5:0.5b") == "fast"
    assert routed(routing_gateway, key, "qwen2.5:0.5b:fastest") == "fast"
    bad = chat(routing_gateway, key, "race:quickest")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid_routing_policy"
    assert "fastest, cheapest, fast, slow" in error["message"]
    assert error["request_id"] == bad.headers["inference-id"]
    assert chat(routing_gateway, key, "nope:fastest").status_code == 404


def test_policies_work_on_hf_task_routes(routing_gateway: Gateway, key: str) -> None:
    def classify(url: str, body: dict[str, object]) -> httpx.Response:
        return httpx.post(url, headers=bearer(key), json=body, timeout=30)

    by_task = f"{routing_gateway.url}/hf/tasks/text-classification"
    resp = classify(by_task, {"model": "hf-pick:slow-hf", "inputs": "hi"})
    assert resp.status_code == 200, resp.text
    assert resp.json()[0][0]["label"] == "slow"  # the upstream that answered
    assert resp.headers[ROUTE] == "slow-hf"
    resp = classify(f"{routing_gateway.url}/models/hf-pick:slow-hf", {"inputs": "hi"})
    assert resp.status_code == 200, resp.text
    assert resp.json()[0][0]["label"] == "slow"
    resp = classify(f"{routing_gateway.url}/models/hf-pick", {"inputs": "hi"})
    assert resp.json()[0][0]["label"] == "fast"
    bad = classify(f"{routing_gateway.url}/models/hf-pick:slowest", {"inputs": "hi"})
    assert bad.status_code == 400
    assert "fastest, cheapest, fast-hf, slow-hf" in bad.json()["error"]
    assert bad.json()["request_id"] == bad.headers["inference-id"]


def test_models_list_each_route_with_its_measurements(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    ups["fast"].delay_s, ups["fast"].token_delay_s = 0.05, 0.005
    for _ in range(3):
        resp = chat(routing_gateway, key, "race:fast", stream=True)
        assert resp.status_code == 200 and "[DONE]" in resp.text
    models = httpx.get(f"{routing_gateway.url}/v1/models", headers=bearer(key)).json()["data"]
    race = next(m for m in models if m["id"] == "race")
    assert race["context_length"] == 4096 and race["pricing"] == {"input": 0.5, "output": 1.5}
    providers = {p["provider"]: p for p in race["providers"]}
    assert set(providers) == {"fast", "slow"}
    fast = providers["fast"]
    assert fast["status"] == "live" and fast["context_length"] == 4096
    assert fast["pricing"] == {"input": 0.5, "output": 1.5}
    assert 50 <= fast["first_token_latency_ms"] < 1000
    assert fast["throughput"] > 0 and fast["samples"] >= 3


def test_the_usage_record_names_the_route_that_served(routing_gateway: Gateway, key: str) -> None:
    resp = chat(routing_gateway, key, "deals:cheapest")
    rows = routing_gateway.rows(
        "SELECT provider, model FROM usage_records WHERE request_id = ?",
        resp.headers["inference-id"],
    )
    assert [(r["provider"], r["model"]) for r in rows] == [("slow", "deals")]


def test_private_providers_are_shown_by_label_only(
    routing_gateway: Gateway, key: str, admin: str
) -> None:
    models = httpx.get(f"{routing_gateway.url}/v1/models", headers=bearer(key))
    private = next(m for m in models.json()["data"] if m["id"] == "private")
    assert [p["provider"] for p in private["providers"]] == ["provider-1", "fast", "provider-2"]
    served = chat(routing_gateway, key, "private")
    assert served.status_code == 200 and served.headers[ROUTE] == "provider-1"
    assert routed(routing_gateway, key, "private:provider-2") == "provider-2"
    refused = chat(routing_gateway, key, "private:private-vllm-3")
    assert refused.status_code == 400
    assert "choose one of: fastest, cheapest, fast, provider-1, provider-2" in refused.text
    # The refusal quotes the caller's own text, and says no more than for any other name.
    other = chat(routing_gateway, key, "private:nonsense").json()["error"]["message"]
    message = refused.json()["error"]["message"]
    assert message.replace("private-vllm-3", "nonsense") == other
    for resp in (models, served):
        assert "private-vllm" not in resp.text and "internal/" not in resp.text
        assert "private-vllm" not in str(resp.headers)
    view = httpx.get(f"{routing_gateway.url}/hf/tasks/models/routes", headers=bearer(admin))
    entry = next(m for m in view.json()["models"] if m["id"] == "private")
    assert [(r["provider"], r["shown_as"]) for r in entry["routes"]] == [
        ("private-vllm-4", "provider-1"),
        ("fast", "fast"),
        ("private-vllm-3", "provider-2"),
    ]


def test_usage_shows_a_private_provider_by_its_label_to_its_caller(
    routing_gateway: Gateway, key: str, admin: str
) -> None:
    ids = {
        chat(routing_gateway, key, "private").headers["inference-id"]: "provider-1",
        chat(routing_gateway, key, "private:provider-2").headers["inference-id"]: "provider-2",
        chat(routing_gateway, key, "private:fast").headers["inference-id"]: "fast",
    }

    def usage(auth: str) -> dict[str, str]:
        resp = httpx.get(
            f"{routing_gateway.url}/hf/tasks/billing/usage",
            params={"model": "private", "limit": "1000"},
            headers=bearer(auth),
        )
        assert resp.status_code == 200, resp.text
        return {r["request_id"]: r["provider"] for r in resp.json()["data"]}

    own = usage(key)
    assert {rid: own[rid] for rid in ids} == ids  # the labels the route header showed
    assert all(not p.startswith("private-vllm") for p in own.values()), own
    # Admins see the real names, which are what the records keep.
    everyone = usage(admin)
    assert [everyone[rid] for rid in ids] == ["private-vllm-4", "private-vllm-3", "fast"]
    stored = routing_gateway.rows(
        "SELECT provider FROM usage_records WHERE request_id = ?", next(iter(ids))
    )
    assert [r["provider"] for r in stored] == ["private-vllm-4"]
