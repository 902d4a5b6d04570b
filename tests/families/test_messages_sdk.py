"""``POST /v1/messages`` and ``count_tokens`` through the official ``anthropic`` SDK,
unmodified, against a real OpenAI-compatible upstream and the same upstream configured as
an HF-kind provider."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import orjson
import pydantic
import pytest

from tests.checks import error_message
from tests.families.conftest import anthropic_client, usage_row
from tests.servers import Gateway, ToolUpstream

MODELS = ["tooly", "tooly-hf"]
WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city now.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.mark.parametrize("model", MODELS)
def test_message_with_system_and_stop_sequences(
    families: Gateway, key: str, tool_upstream: ToolUpstream, model: str
) -> None:
    raw = anthropic_client(families, key).messages.with_raw_response.create(
        model=model,
        max_tokens=64,
        system="Be brief.",
        stop_sequences=["STOP"],
        messages=[{"role": "user", "content": "hello there STOP and more"}],
    )
    message = raw.parse()
    assert message._request_id == raw.headers["inference-id"]  # the SDK's ``request-id``
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "you said: hello there"  # type: ignore[union-attr]
    assert (message.role, message.model, message.stop_reason) == ("assistant", model, "end_turn")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 4)
    sent = tool_upstream.last()
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (sent["max_tokens"], sent["stop"]) == (64, ["STOP"])
    row = usage_row(families, raw.headers["inference-id"])
    assert (row["route"], row["status"], row["input_tokens"], row["output_tokens"]) == (
        "messages",
        200,
        7,
        4,
    )
    assert row["cost_nano_usd"] == 7 * 500 + 4 * 1_500


@pytest.mark.parametrize("model", MODELS)
def test_tool_use_round_trip(
    families: Gateway, key: str, tool_upstream: ToolUpstream, model: str
) -> None:
    client = anthropic_client(families, key)
    question: Any = {"role": "user", "content": "What is the weather in Paris?"}
    first = client.messages.create(model=model, max_tokens=64, tools=[WEATHER], messages=[question])
    assert first.stop_reason == "tool_use"
    (use,) = first.content
    assert use.type == "tool_use" and use.name == "get_weather"
    assert use.input == {"city": "Paris"}
    result = {"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 21 C"}
    second = client.messages.create(
        model=model,
        max_tokens=64,
        tools=[WEATHER],
        messages=[
            question,
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [result]},
        ],
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "the tool said: sunny, 21 C"  # type: ignore[union-attr]
    sent = tool_upstream.last()["messages"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert sent[2] == {"role": "tool", "tool_call_id": use.id, "content": "sunny, 21 C"}


@pytest.mark.parametrize("model", MODELS)
def test_stream_final_message(families: Gateway, key: str, model: str) -> None:
    client = anthropic_client(families, key)
    with client.messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "one two three"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "you said: one two three"
    assert final.content[0].text == text  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 5)


def test_stream_event_sequence_on_the_wire(families: Gateway, key: str) -> None:
    body = {
        "model": "tooly",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [WEATHER],
    }
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    with httpx.stream(
        "POST", f"{families.url}/v1/messages", json=body, headers=headers, timeout=30
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    data = [orjson.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data")]
    assert [d["type"] for d in data] == names
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert data[2]["content_block"]["type"] == "tool_use"
    assert data[6]["delta"]["stop_reason"] == "tool_use"
    assert data[6]["usage"]["input_tokens"] == 3


@pytest.mark.parametrize("model", MODELS)
def test_streamed_tool_use_round_trip(families: Gateway, key: str, model: str) -> None:
    client = anthropic_client(families, key)
    question: Any = {"role": "user", "content": "Weather in Paris?"}
    with client.messages.stream(
        model=model, max_tokens=64, tools=[WEATHER], messages=[question]
    ) as stream:
        first = stream.get_final_message()
    (use,) = first.content
    assert use.type == "tool_use" and use.input == {"city": "Paris"}
    result = {
        "type": "tool_result",
        "tool_use_id": use.id,
        "content": [{"type": "text", "text": "rain"}],
    }
    with client.messages.stream(
        model=model,
        max_tokens=64,
        tools=[WEATHER],
        messages=[
            question,
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [result]},
        ],
    ) as stream:
        second = stream.get_final_message()
    assert second.content[0].text == "the tool said: rain"  # type: ignore[union-attr]


def test_bearer_key_is_accepted_as_well(families: Gateway, key: str) -> None:
    client = anthropic.Anthropic(base_url=families.url, auth_token=key, max_retries=0)
    message = client.messages.create(
        model="tooly", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text == "you said: hi"  # type: ignore[union-attr]


def test_count_tokens_without_a_tokenizer_is_an_estimate(families: Gateway, key: str) -> None:
    raw = anthropic_client(families, key).messages.with_raw_response.count_tokens(
        model="tooly", messages=[{"role": "user", "content": "x" * 400}]
    )
    assert raw.headers["gatewayz-token-count"] == "estimate"
    counted = raw.parse()
    assert 100 <= counted.input_tokens <= 120  # ~4 characters a token, message syntax included
    assert (
        families.rows(
            "SELECT * FROM usage_records WHERE request_id = ?", raw.headers["inference-id"]
        )
        == []
    )


class City(pydantic.BaseModel):
    name: str
    population: int


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_reaches_each_upstream_in_its_form(
    families: Gateway, key: str, tool_upstream: ToolUpstream, model: str, stream: bool
) -> None:
    """``output_config.format`` (what ``messages.parse(output_format=...)`` sends) becomes
    a ``response_format``: OpenAI's ``json_schema`` for an OpenAI-kind upstream, TGI's
    ``json_object`` + ``value`` for an HF-kind one; the SDK parses the answer."""
    client = anthropic_client(families, key)
    messages: Any = [{"role": "user", "content": "A big city?"}]
    if stream:
        with client.messages.stream(
            model=model, max_tokens=64, messages=messages, output_format=City
        ) as events:
            parsed = events.get_final_message().parsed_output
    else:
        parsed = client.messages.parse(
            model=model, max_tokens=64, messages=messages, output_format=City
        ).parsed_output
    assert parsed == City(name="Paris", population=3)
    sent = tool_upstream.last()["response_format"]
    if model == "tooly-hf":
        assert sent["type"] == "json_object"
        assert set(sent["value"]["properties"]) == {"name", "population"}
    else:
        assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "schema"
        assert set(sent["json_schema"]["schema"]["properties"]) == {"name", "population"}


@pytest.mark.parametrize("schema", ["{}", [1], None])
def test_an_output_format_without_an_object_schema_is_a_400(
    families: Gateway, key: str, schema: Any
) -> None:
    resp = httpx.post(
        f"{families.url}/v1/messages",
        json={
            "model": "tooly",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        },
        headers={"x-api-key": key},
    )
    assert "output_config.format.schema" in error_message(resp, 400)
