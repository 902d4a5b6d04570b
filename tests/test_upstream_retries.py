"""Non-streamed upstream calls are asked again on 408/429/5xx, with the shared retry rules
(gatewayz.retries), unless the upstream asks for a longer wait than a caller should see."""

from __future__ import annotations

import httpx

from tests.checks import bearer
from tests.servers import Gateway
from tests.upstreams import TroubleUpstream


def chat(gateway: Gateway, key: str, model: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers=bearer(key),
        timeout=60,
        json={"model": model, "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]},
    )


def test_an_upstream_that_fails_twice_then_answers_is_retried(
    trouble_gateway: Gateway, trouble_key: str, trouble_upstream: TroubleUpstream
) -> None:
    before = trouble_upstream.hits.get("flaky", 0)
    resp = chat(trouble_gateway, trouble_key, "smol-flaky")
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] is not None
    assert trouble_upstream.hits["flaky"] - before == 3
    rows = trouble_gateway.rows(
        "SELECT status FROM usage_records WHERE request_id = ?", resp.headers["inference-id"]
    )
    assert [r["status"] for r in rows] == [200]


def test_a_long_retry_after_is_passed_on_not_waited_for(
    trouble_gateway: Gateway, trouble_key: str, trouble_upstream: TroubleUpstream
) -> None:
    before = trouble_upstream.hits.get("ratelimited", 0)
    resp = chat(trouble_gateway, trouble_key, "smol-ratelimited")
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "120"
    assert resp.json()["error"]["message"] == "slow down"
    assert trouble_upstream.hits["ratelimited"] - before == 1
