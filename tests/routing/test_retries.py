"""Task calls (HF and OpenAI-compatible) and the opening of streams are retried by the same
rules as non-streamed calls: 408/429/5xx are asked again (``Retry-After`` honoured, a long
one passed on), and nothing is retried once a byte has reached the caller."""

from __future__ import annotations

import time

import httpx

from tests.checks import bearer
from tests.routing.behaving_upstream import BehavingUpstream
from tests.routing.test_policies import chat
from tests.servers import Gateway


def classify(gateway: Gateway, key: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/hf/tasks/text-classification",
        headers=bearer(key),
        json={"model": "hf-retry", "inputs": "I love it"},
        timeout=30,
    )


def test_hf_task_calls_are_retried_on_408_429_and_5xx(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    up = ups["scripted"]
    up.script = [(503, "0"), (408, None)]
    resp = classify(routing_gateway, key)
    assert resp.status_code == 200, resp.text
    assert resp.json()[0][0]["label"] == "scripted"
    assert up.hits == 3

    up.reset()
    up.script = [(502, "0"), (500, "0"), (503, "0")]  # more than max_retries (2)
    resp = classify(routing_gateway, key)
    assert resp.status_code == 502 and up.hits == 3

    up.reset()
    up.script = [(400, None)]  # the caller's fault: asked once
    resp = classify(routing_gateway, key)
    assert resp.status_code == 400 and up.hits == 1


def test_openai_task_calls_are_retried_by_the_same_rules(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    """Every non-streamed call of an adapter goes through its one ``post``: an
    OpenAI-compatible provider's task (embeddings) is asked again as a chat would be."""
    up = ups["scripted"]
    up.reset()
    up.script = [(429, "0"), (503, None)]
    resp = httpx.post(
        f"{routing_gateway.url}/hf/tasks/feature-extraction",
        headers=bearer(key),
        json={"model": "embed-retry", "inputs": ["hello"]},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == [[0.6, 0.8]] and up.hits == 3

    up.reset()
    up.script = [(400, None)]  # the caller's mistake: passed on, not asked again
    resp = httpx.post(
        f"{routing_gateway.url}/hf/tasks/feature-extraction",
        headers=bearer(key),
        json={"model": "embed-retry", "inputs": ["hello"]},
        timeout=30,
    )
    assert resp.status_code == 400 and up.hits == 1


def test_hf_task_retries_honour_retry_after(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    up = ups["scripted"]
    up.script = [(429, "1")]
    start = time.perf_counter()
    resp = classify(routing_gateway, key)
    assert resp.status_code == 200 and time.perf_counter() - start >= 1.0
    assert up.hits == 2

    up.reset()
    up.script = [(429, "120")]  # longer than a caller should wait: passed on
    resp = classify(routing_gateway, key)
    assert resp.status_code == 429 and resp.headers["retry-after"] == "120"
    assert up.hits == 1


def test_a_stream_is_retried_until_its_first_byte_only(
    routing_gateway: Gateway, key: str, ups: dict[str, BehavingUpstream]
) -> None:
    up = ups["scripted"]
    up.script = [(503, "0"), (429, "0")]
    resp = chat(routing_gateway, key, "retry-chat", stream=True)
    assert resp.status_code == 200, resp.text
    assert resp.text.count('"content":"tok ') == 20 and "[DONE]" in resp.text
    assert up.hits == 3

    up.reset()
    up.script = [(503, "120")]
    resp = chat(routing_gateway, key, "retry-chat", stream=True)
    assert resp.status_code == 502 and up.hits == 1

    up.reset()
    up.cut_after = 3  # breaks after its first bytes reached the caller: not asked again
    resp = chat(routing_gateway, key, "retry-chat", stream=True)
    assert resp.status_code == 200
    assert resp.text.count('"content":"tok ') == 3 and '"error"' in resp.text
    assert up.hits == 1
