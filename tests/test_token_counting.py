"""An upstream that reports no usage in its stream (llama-cpp-python's server ignores
``stream_options``) is still billed exactly when the model names its tokenizer; without
one, the gateway's usage is an estimate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.checks import bearer
from tests.servers import Gateway, LlamaUpstream

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three colours of the rainbow."},
]


@pytest.fixture(scope="module")
def counting_gateway(
    tmp_path_factory: pytest.TempPathFactory, llama_upstream: LlamaUpstream
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("counting")
    route = [{"provider": "llama", "model": "smollm2"}]
    config = {
        "database_url": f"sqlite:///{workdir / 'gw.db'}",
        "providers": [{"name": "llama", "kind": "openai", "base_url": llama_upstream.base_url}],
        "models": [
            {
                "id": "counted",
                "hub_model_id": "o/counted",
                "task": "conversational",
                "routes": route,
                "tokenizer": "smollm2-135m-instruct",
                "pricing": {"input_per_million_usd": "1", "output_per_million_usd": "2"},
            },
            {
                "id": "estimated",
                "hub_model_id": "o/estimated",
                "task": "conversational",
                "routes": route,
            },
        ],
    }
    server = Gateway(workdir, config)
    yield server
    server.stop()


def streamed_usage(gateway: Gateway, key: str, model: str) -> tuple[dict[str, Any], int, str]:
    body = {"model": model, "messages": MESSAGES, "max_tokens": 12, "stream": True}
    chunks = 0
    usage: dict[str, Any] = {}
    with httpx.stream(
        "POST", f"{gateway.url}/v1/chat/completions", json=body, headers=bearer(key), timeout=60
    ) as resp:
        rid = resp.headers["inference-id"]
        for line in resp.iter_lines():
            if not line.startswith("data: {"):
                continue
            event = orjson.loads(line[6:])
            usage = event.get("usage") or usage
            if any((c.get("delta") or {}).get("content") for c in event.get("choices", [])):
                chunks += 1
    return usage, chunks, rid


def test_a_named_tokenizer_counts_exactly(
    counting_gateway: Gateway, llama_upstream: LlamaUpstream
) -> None:
    key = counting_gateway.create_key("counting")
    reported = httpx.post(
        f"{llama_upstream.base_url}/chat/completions",
        timeout=60,
        json={"model": "smollm2", "messages": MESSAGES, "max_tokens": 1},
    )
    truth = reported.json()["usage"]["prompt_tokens"]  # the upstream's own count

    usage, chunks, rid = streamed_usage(counting_gateway, key, "counted")
    assert usage["prompt_tokens"] == truth
    assert usage["completion_tokens"] == chunks > 0
    (row,) = counting_gateway.rows(
        "SELECT input_tokens, output_tokens, cost_nano_usd FROM usage_records WHERE request_id = ?",
        rid,
    )
    assert (row["input_tokens"], row["output_tokens"]) == (truth, chunks)
    assert row["cost_nano_usd"] == truth * 1_000 + chunks * 2_000  # $1 / $2 per million

    estimated, _, _ = streamed_usage(counting_gateway, key, "estimated")
    assert estimated["prompt_tokens"] != truth  # ~4 characters per token: an estimate
