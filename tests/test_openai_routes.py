"""The OpenAI-compatible routes against a real llama.cpp upstream: chat and completions,
streamed and not, parameters passed through, the model list, and the Inference-Id."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.checks import bearer, chat_body, inference_id
from tests.servers import Gateway
from tests.upstreams import TroubleUpstream

MODEL = "smol-upstream"
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def http(gateway: Gateway, user_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers=bearer(user_key), timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def sdk(gateway: Gateway, user_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=user_key, max_retries=0)


def sse_events(resp: httpx.Response) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order."""
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = [block for block in resp.text.split("\n\n") if block.strip()]
    assert all(e.startswith("data: ") for e in events), events
    return [e.removeprefix("data: ") for e in events]


def chat(http: httpx.Client, **extra: Any) -> dict[str, Any]:
    resp = http.post("/v1/chat/completions", json=chat_body(MODEL, **extra))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_chat_raw_http_has_usage_and_public_model(http: httpx.Client) -> None:
    resp = http.post("/v1/chat/completions", json=chat_body(MODEL, "Name a color."))
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    inference_id(resp)
    body = resp.json()
    assert body["model"] == MODEL and body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["message"]["content"]
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= 8
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_stream_raw_http_is_sse_with_usage_and_done(http: httpx.Client) -> None:
    resp = http.post("/v1/chat/completions", json=chat_body(MODEL, "Count.", stream=True))
    assert resp.status_code == 200
    inference_id(resp)
    events = sse_events(resp)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["model"] == MODEL for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert len(usage) == 1 and usage[0]["completion_tokens"] > 0
    assert usage[0]["prompt_tokens"] > 0


def test_chat_stream_via_sdk_text_matches_usage(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say a word."}],
        max_tokens=6,
        temperature=0,
        stream=True,
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 6
    assert chunks[-1].usage.prompt_tokens > 0


def test_stop_is_passed_through(http: httpx.Client) -> None:
    prompt = "List the numbers from one to ten in words, separated by spaces."
    free = chat(http, content=prompt, temperature=0, max_tokens=24)
    text = free["choices"][0]["message"]["content"]
    assert len(text) >= 6, text
    stop = text[3:5]
    stopped = chat(http, content=prompt, temperature=0, max_tokens=24, stop=[stop])
    out = stopped["choices"][0]["message"]["content"]
    assert out == text[: text.index(stop)]
    assert stopped["choices"][0]["finish_reason"] == "stop"


def test_seed_is_passed_through(http: httpx.Client) -> None:
    def sample(seed: int) -> str:
        body = chat(http, content="Write a random word.", temperature=1.5, max_tokens=8, seed=seed)
        return str(body["choices"][0]["message"]["content"])

    assert sample(7) == sample(7)
    assert len({sample(7), sample(8), sample(9)}) > 1


def test_response_format_json_schema_is_passed_through(http: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "boolean"}},
        "required": ["answer"],
    }
    body = chat(
        http,
        content="Is the sky blue? Reply in JSON.",
        temperature=0,
        max_tokens=24,
        response_format={"type": "json_object", "schema": schema},
    )
    parsed = json.loads(body["choices"][0]["message"]["content"])
    assert isinstance(parsed["answer"], bool)


@pytest.mark.parametrize("stream", [False, True])
def test_tgi_json_form_reaches_llama_cpp_as_a_schema_it_takes(
    http: httpx.Client, stream: bool
) -> None:
    """huggingface_hub's documented ``{"type": "json", "value": schema}``: OpenAI's
    json_schema is sent, which llama-cpp-python's server rejects naming ``json_schema``;
    llama.cpp's own form is then sent, and its grammar holds the answer to the schema."""
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "boolean"}},
        "required": ["answer"],
    }
    body = chat_body(
        MODEL,
        "Is the sky blue? Reply in JSON.",
        temperature=0,
        max_tokens=24,
        stream=stream,
        response_format={"type": "json", "value": schema},
    )
    resp = http.post("/v1/chat/completions", json=body)
    assert resp.status_code == 200, resp.text
    if stream:
        chunks = [json.loads(e) for e in sse_events(resp)[:-1]]
        text = "".join(
            c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
        )
    else:
        text = resp.json()["choices"][0]["message"]["content"]
    assert isinstance(json.loads(text)["answer"], bool)


def test_forced_tool_call_comes_back(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        max_tokens=32,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    calls = completion.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_unknown_fields_reach_the_upstream_unchanged(
    trouble_gateway: Gateway, trouble_key: str, trouble_upstream: TroubleUpstream
) -> None:
    extra: dict[str, Any] = {
        "tools": [WEATHER_TOOL],
        "tool_choice": "auto",
        "seed": 11,
        "stop": ["\n\n"],
        "response_format": {"type": "text"},
        "logit_bias": {"15": -1},
        "user": "someone",
    }
    for stream in (False, True):
        resp = httpx.post(
            f"{trouble_gateway.url}/v1/chat/completions",
            json=chat_body("smol-recorded", stream=stream, **extra),
            headers=bearer(trouble_key),
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        sent = trouble_upstream.last["body"]
        assert {k: sent[k] for k in extra} == extra
        assert sent["model"] == "smollm2"  # the route's upstream model name
        if stream:
            assert sent["stream"] is True
            assert sent["stream_options"] == {"include_usage": True}


def test_model_left_out_goes_to_the_configured_default(http: httpx.Client) -> None:
    body = chat_body(MODEL)
    del body["model"]
    resp = http.post("/v1/chat/completions", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["model"] == MODEL  # default_models; smol-local is called by name only
    staged = http.post("/v1/chat/completions", json=chat_body("smol-local", max_tokens=2))
    assert staged.status_code == 200 and staged.json()["model"] == "smol-local"


def test_completions_non_stream(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/completions", json={"model": MODEL, "prompt": "Once upon a time", "max_tokens": 8}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == MODEL and body["choices"][0]["text"]
    assert body["usage"]["prompt_tokens"] > 0 and 0 < body["usage"]["completion_tokens"] <= 8


def test_completions_stream(sdk: openai.OpenAI, http: httpx.Client) -> None:
    resp = http.post(
        "/v1/completions",
        json={"model": MODEL, "prompt": "Once upon a time", "max_tokens": 8, "stream": True},
    )
    assert resp.status_code == 200
    events = sse_events(resp)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert len(usage) == 1 and 0 < usage[0]["completion_tokens"] <= 8
    stream = sdk.completions.create(model=MODEL, prompt="Hello", max_tokens=4, stream=True)
    assert any(c.usage for c in stream)


def test_models_lists_live_models_with_pricing_and_context(http: httpx.Client) -> None:
    resp = http.get("/v1/models")
    assert resp.status_code == 200
    inference_id(resp)
    data = resp.json()["data"]
    assert [m["id"] for m in data] == [MODEL]  # smol-local is staging: not listed
    model = data[0]
    assert model["context_length"] == 4096
    pricing = model["pricing"]
    assert set(pricing) == {"input", "output"}
    assert all(type(v) in (int, float) for v in pricing.values())
    assert (pricing["input"], pricing["output"]) == (0.5, 1.5)


def test_models_via_sdk(sdk: openai.OpenAI) -> None:
    assert [m.id for m in sdk.models.list()] == [MODEL]


def test_inference_id_is_a_fresh_uuid_on_every_response(
    http: httpx.Client, gateway: Gateway
) -> None:
    responses = [
        http.get("/v1/models"),
        http.get("/v1/models"),
        http.post("/v1/chat/completions", json=chat_body(MODEL, max_tokens=2)),
        http.post("/v1/chat/completions", json=chat_body(MODEL, max_tokens=2, stream=True)),
        http.post("/v1/completions", json={"model": MODEL, "prompt": "Hi", "max_tokens": 2}),
        http.post("/v1/chat/completions", content=b"{nope"),
        http.post("/v1/chat/completions", json=chat_body("missing-model")),
        http.get("/v1/no-such-route"),
        httpx.get(f"{gateway.url}/v1/models"),  # no key: 401
        httpx.get(f"{gateway.url}/health"),
        httpx.get(f"{gateway.url}/metrics"),
    ]
    ids = [inference_id(r) for r in responses]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 for i in ids)
