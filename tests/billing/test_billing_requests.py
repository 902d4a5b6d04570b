"""POST /v1/billing/requests (what HF's router calls), and when usage gets committed."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson

from tests.billing.conftest import Env, auth


def test_prices_known_ids_and_leaves_out_unknown_ones(env: Env) -> None:
    r = env.chat(env.partner, words=100, max_tokens=50)
    assert r.status_code == 200, r.text
    rid = r.headers["inference-id"]
    unknown = str(uuid.uuid4())
    body = {"requestIds": [rid, unknown, rid]}
    first = env.post("/v1/billing/requests", env.partner, body)
    assert first.status_code == 200
    assert first.json() == {"requests": [{"requestId": rid, "costNanoUsd": 125_000}]}
    again = env.post("/v1/billing/requests", env.partner, body)
    assert again.json() == first.json()  # idempotent
    assert env.costs(env.admin, [rid]) == {rid: 125_000}


def test_only_admin_and_partner_keys(env: Env) -> None:
    r = env.post("/v1/billing/requests", env.user, {"requestIds": []})
    assert r.status_code == 403
    assert r.json()["error"]["type"] == "permission_error"
    assert env.post("/v1/billing/requests", env.partner, {"requestIds": []}).json() == {
        "requests": []
    }


def test_a_partner_key_does_not_see_other_keys_requests(env: Env) -> None:
    rid = env.chat(env.user).headers["inference-id"]
    assert env.costs(env.partner, [rid]) == {}
    assert rid in env.costs(env.admin, [rid])


def test_a_failed_request_is_known_with_cost_zero(env: Env) -> None:
    """HF only asks about 2xx/3xx, but a failed request answered as known-with-0 stops any
    retrying; a request rejected before any model call has no record at all."""
    failed = env.chat(env.partner, model="example-down")
    assert failed.status_code == 502
    rid = failed.headers["inference-id"]
    assert env.costs(env.partner, [rid]) == {rid: 0}
    bad = env.post("/v1/chat/completions", env.partner, {"model": "example-chat", "messages": 1})
    assert bad.status_code == 400
    assert env.costs(env.partner, [bad.headers["inference-id"]]) == {}


def test_bad_bodies_are_422(env: Env) -> None:
    too_many = {"requestIds": [str(uuid.uuid4()) for _ in range(10_001)]}
    assert env.post("/v1/billing/requests", env.partner, too_many).status_code == 422
    assert env.post("/v1/billing/requests", env.partner, {"requestIds": [1]}).status_code == 422
    assert env.post("/v1/billing/requests", env.partner, {}).status_code == 422


def test_ten_thousand_ids_in_one_call_under_a_second(env: Env) -> None:
    ids = [env.chat(env.partner).headers["inference-id"] for _ in range(5)]
    body = {"requestIds": ids + [str(uuid.uuid4()) for _ in range(10_000 - len(ids))]}
    started = time.perf_counter()
    r = env.post("/v1/billing/requests", env.partner, body)
    elapsed = time.perf_counter() - started
    assert r.status_code == 200
    assert {e["requestId"] for e in r.json()["requests"]} == set(ids)
    assert elapsed < 1.0, elapsed


def test_usage_is_committed_before_the_last_byte(env: Env) -> None:
    """No polling: the moment the client has the whole response, the cost is known."""
    for _ in range(5):
        r = env.chat(env.partner, words=3, max_tokens=2)
        assert env.costs(env.partner, [r.headers["inference-id"]]) == {
            r.headers["inference-id"]: 3 * 500 + 2 * 1500
        }
    for _ in range(5):
        body = {
            "model": "example-chat",
            "stream": True,
            "max_tokens": 4,
            "messages": [{"role": "user", "content": "one two"}],
        }
        with httpx.stream(
            "POST",
            env.url + "/v1/chat/completions",
            json=body,
            headers=auth(env.partner),
            timeout=30,
        ) as s:
            assert s.status_code == 200
            lines = [line for line in s.iter_lines() if line]
            rid = s.headers["inference-id"]
        assert lines[-1] == "data: [DONE]"
        assert env.costs(env.partner, [rid]) == {rid: 2 * 500 + 4 * 1500}


def test_a_stream_the_client_drops_is_billed_for_what_was_produced(env: Env) -> None:
    body = {
        "model": "example-slow",
        "stream": True,
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "one two three"}],
    }
    received = 0
    with httpx.stream(
        "POST", env.url + "/v1/chat/completions", json=body, headers=auth(env.partner), timeout=30
    ) as s:
        rid = s.headers["inference-id"]
        for line in s.iter_lines():
            if line.startswith("data: {"):
                received += 1
            if received == 5:
                break  # leaving the block closes the connection mid-stream
    deadline = time.monotonic() + 10
    costs: dict[str, int] = {}
    while not costs and time.monotonic() < deadline:
        time.sleep(0.1)
        costs = env.costs(env.partner, [rid])
    assert rid in costs, "the dropped stream was never recorded"
    usage = env.get("/hf/tasks/billing/usage", env.admin, model="example-slow", limit=1000)
    record = next(row for row in usage.json()["data"] if row["request_id"] == rid)
    assert record["status"] == 499
    produced = record["output_tokens"]
    assert 5 <= produced < 200  # what was produced, not the max_tokens asked for
    assert costs[rid] == record["input_tokens"] * 500 + produced * 1500 > 0


def test_hf_billing_response_is_plain_json(env: Env) -> None:
    r = env.post("/v1/billing/requests", env.partner, {"requestIds": []})
    assert r.headers["content-type"].startswith("application/json")
    assert orjson.loads(r.content) == {"requests": []}
