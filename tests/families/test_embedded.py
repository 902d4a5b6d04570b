"""Both families against the embedded default (``gatewayz serve`` with no configuration:
SmolLM2 in the process), through the official SDKs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.checks import hub_chat_text
from tests.families.conftest import anthropic_client, openai_client
from tests.servers import Gateway

MODEL = "smollm2-135m-instruct"
QUESTION = "What is the capital of France?"
# A 1x1 PNG.
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG = "data:image/png;base64," + PNG_B64
TEXT_PART = {"type": "text", "text": "Say hello."}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    workdir: Path = tmp_path_factory.mktemp("families-embedded")
    gateway = Gateway(workdir, None)
    yield gateway, (workdir / ".gatewayz-key").read_text().strip()
    gateway.stop()


def test_responses_create_and_stream(embedded: tuple[Gateway, str]) -> None:
    gateway, key = embedded
    client = openai_client(gateway, key)
    response = client.responses.create(input=QUESTION, max_output_tokens=16, temperature=0)
    assert response.model == MODEL and response.output_text
    assert response.usage is not None and 0 < response.usage.output_tokens <= 16
    with client.responses.stream(
        model=MODEL, input=QUESTION, instructions="Answer in one word.", max_output_tokens=16
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-1] in ("response.completed", "response.incomplete")
    assert final.output_text and final.usage is not None and final.usage.input_tokens > 0


def test_messages_create_stream_and_exact_count(embedded: tuple[Gateway, str]) -> None:
    gateway, key = embedded
    client = anthropic_client(gateway, key)
    messages: Any = [{"role": "user", "content": QUESTION}]
    message = client.messages.create(model=MODEL, max_tokens=16, messages=messages)
    assert message.content[0].text  # type: ignore[union-attr]
    assert 0 < message.usage.output_tokens <= 16
    with client.messages.stream(
        model=MODEL, max_tokens=16, system="Answer in one word.", messages=messages
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text  # type: ignore[union-attr]
    raw = client.messages.with_raw_response.count_tokens(
        model=MODEL, system="Answer in one word.", messages=messages
    )
    assert raw.headers["gatewayz-token-count"] == "exact"
    assert raw.parse().input_tokens == final.usage.input_tokens


def test_tool_round_trip_with_a_forced_tool(embedded: tuple[Gateway, str]) -> None:
    gateway, key = embedded
    client = anthropic_client(gateway, key)
    tool: Any = {
        "name": "get_weather",
        "description": "The weather in a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    question: Any = {"role": "user", "content": "What is the weather in Paris?"}
    first = client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=[tool],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[question],
    )
    uses = [b for b in first.content if b.type == "tool_use"]
    assert uses and uses[0].name == "get_weather" and "city" in uses[0].input  # type: ignore[operator]
    second = client.messages.create(
        model=MODEL,
        max_tokens=32,
        messages=[
            question,
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny"}],
            },
        ],
    )
    assert second.content[0].text  # type: ignore[union-attr]
    response = openai_client(gateway, key).responses.create(
        model=MODEL,
        input="What is the weather in Paris?",
        tools=[{"type": "function", "name": "get_weather", "parameters": tool["input_schema"]}],
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=64,
    )
    (call,) = [item for item in response.output if item.type == "function_call"]
    assert "city" in json.loads(call.arguments)


WEATHER: Any = {
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


def _chat(gateway: Gateway, key: str, body: dict[str, Any]) -> Any:
    import httpx

    return httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": MODEL, "max_tokens": 48, **body},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )


def test_inputs_the_embedded_model_cannot_read_are_clear_400s(
    embedded: tuple[Gateway, str],
) -> None:
    """Images, and a tool choice naming no tool of the request, on every family (each was a
    500 from inside llama-cpp); text given as parts is read."""
    gateway, key = embedded
    parts = _chat(gateway, key, {"messages": [{"role": "user", "content": [TEXT_PART]}]})
    assert parts.status_code == 200 and parts.json()["choices"][0]["message"]["content"]
    image = {"type": "image_url", "image_url": {"url": PNG}}
    answer = _chat(gateway, key, {"messages": [{"role": "user", "content": [TEXT_PART, image]}]})
    assert answer.status_code == 400 and "reads text only" in answer.text, answer.text
    wrong = {"type": "function", "function": {"name": "nope"}}
    hello = [{"role": "user", "content": "hi"}]
    answer = _chat(gateway, key, {"messages": hello, "tools": [WEATHER], "tool_choice": wrong})
    assert answer.status_code == 400 and "'nope'" in answer.text, answer.text
    anthropic = anthropic_client(gateway, key)
    import anthropic as anthropic_sdk

    with pytest.raises(anthropic_sdk.BadRequestError, match="reads text only"):
        anthropic.messages.create(
            model=MODEL,
            max_tokens=8,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this?"},
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": PNG_B64,
                            },
                        },
                    ],
                }
            ],
        )
    with pytest.raises(anthropic_sdk.BadRequestError, match="'g'"):
        anthropic.messages.create(
            model=MODEL,
            max_tokens=8,
            tools=[
                {"name": "f", "input_schema": {"type": "object", "properties": {}}},
            ],
            tool_choice={"type": "tool", "name": "g"},
            messages=[{"role": "user", "content": "hi"}],
        )


def test_a_streamed_tool_call_is_billed_like_the_same_call_unstreamed(
    embedded: tuple[Gateway, str],
) -> None:
    """A tool-calling stream has no text, yet each of its tokens was generated (it billed 0
    output tokens); and ``required`` with one tool is that tool."""
    gateway, key = embedded
    body = {
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [WEATHER],
        "tool_choice": "required",
        "temperature": 0,
        "seed": 7,
    }
    plain = _chat(gateway, key, body).json()
    (call,) = plain["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert "city" in json.loads(call["function"]["arguments"])
    streamed = openai_client(gateway, key).chat.completions.create(
        model=MODEL,
        max_tokens=48,
        stream=True,
        stream_options={"include_usage": True},
        **body,
    )
    usage = [chunk.usage for chunk in streamed if chunk.usage is not None][-1]
    assert usage.completion_tokens == plain["usage"]["completion_tokens"] > 0


def test_a_json_schema_is_enforced(embedded: tuple[Gateway, str]) -> None:
    gateway, key = embedded
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    response = openai_client(gateway, key).responses.create(
        model=MODEL,
        input="Name a city and its country.",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema}},
        max_output_tokens=64,
    )
    answer = json.loads(response.output_text)
    assert set(answer) == {"city", "country"} and all(isinstance(v, str) for v in answer.values())


@pytest.mark.parametrize("stream", [False, True])
def test_huggingface_hubs_json_form_is_enforced(
    embedded: tuple[Gateway, str], stream: bool
) -> None:
    """``{"type": "json", "value": schema}``, as ``InferenceClient.chat_completion``'s
    docstring sends it, is held to the schema by the embedded model's grammar."""
    from huggingface_hub import InferenceClient

    gateway, key = embedded
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    client = InferenceClient(base_url=f"{gateway.url}/v1", api_key=key)
    fmt = {"type": "json", "value": schema}
    text = hub_chat_text(client, MODEL, "Name a city and its country.", fmt, stream=stream)
    answer_json = json.loads(text)
    assert set(answer_json) == {"city", "country"}
    assert all(isinstance(v, str) for v in answer_json.values())


def test_a_regex_format_is_a_clear_400(embedded: tuple[Gateway, str]) -> None:
    gateway, key = embedded
    fmt = {"type": "regex", "value": "[a-z]+"}
    answer = _chat(
        gateway, key, {"messages": [{"role": "user", "content": "hi"}], "response_format": fmt}
    )
    assert answer.status_code == 400 and "regex" in answer.text, answer.text
    assert answer.json()["error"]["request_id"] == answer.headers["inference-id"]
