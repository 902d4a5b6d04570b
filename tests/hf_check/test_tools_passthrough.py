"""``tools``, ``tool_choice`` and ``response_format`` reach OpenAI-compatible and
HF-compatible (TGI) upstreams, streamed and not, and what the upstream answers reaches the
caller: tool calls whole or as deltas, JSON that validates. Asserted on both ends: the body
the upstream received (``GET /last``) and what the openai SDK returns."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from gatewayz.hf_check.chat import PERSON_SCHEMA, WEATHER_TOOL, schema_errors
from tests.servers import Gateway, ToolUpstream

FORCED = {"type": "function", "function": {"name": "get_weather"}}
SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "person", "schema": PERSON_SCHEMA, "strict": True},
}
# model id -> what the upstream must receive for SCHEMA_FORMAT and for a bare json_object
KINDS = {
    "good-chat": (SCHEMA_FORMAT, {"type": "json_object"}),
    "good-chat-hf": (
        {"type": "json_object", "value": PERSON_SCHEMA},
        {"type": "json_object", "value": {"type": "object"}},
    ),
}


@pytest.fixture(scope="module")
def sdk(gw: Gateway, user_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw.url}/v1", api_key=user_key, max_retries=0)


def ask(model: str, text: str = "What is the weather in Paris? Use get_weather.") -> list[Any]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize("model", KINDS)
def test_a_tool_call_passes_through_unstreamed(
    sdk: openai.OpenAI, tool_upstream: ToolUpstream, model: str
) -> None:
    answer = sdk.chat.completions.create(
        model=model, messages=ask(model), tools=[WEATHER_TOOL], tool_choice=FORCED
    )
    sent = tool_upstream.last()
    assert sent["tools"] == [WEATHER_TOOL] and sent["tool_choice"] == FORCED
    (call,) = answer.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert answer.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("model", KINDS)
def test_a_tool_call_streams_as_deltas(
    sdk: openai.OpenAI, tool_upstream: ToolUpstream, model: str
) -> None:
    stream = sdk.chat.completions.create(
        model=model, messages=ask(model), tools=[WEATHER_TOOL], tool_choice="auto", stream=True
    )
    deltas = [
        call
        for chunk in stream
        if chunk.choices
        for call in chunk.choices[0].delta.tool_calls or ()
    ]
    assert tool_upstream.last()["tool_choice"] == "auto"
    assert len(deltas) == 2  # the upstream sends the arguments in two pieces
    assert deltas[0].id and deltas[0].function and deltas[0].function.name == "get_weather"
    arguments = "".join((d.function.arguments or "") for d in deltas if d.function)
    assert json.loads(arguments) == {"city": "Paris"}


@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_json_schema_reaches_the_upstream_in_its_form(
    sdk: openai.OpenAI, tool_upstream: ToolUpstream, model: str, stream: bool
) -> None:
    messages = ask(model, "Invent a person.")
    fmt: Any = SCHEMA_FORMAT
    if stream:
        chunks = sdk.chat.completions.create(
            model=model, messages=messages, response_format=fmt, stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        answer = sdk.chat.completions.create(model=model, messages=messages, response_format=fmt)
        text = answer.choices[0].message.content or ""
    assert tool_upstream.last()["response_format"] == KINDS[model][0]
    assert schema_errors(json.loads(text), PERSON_SCHEMA) is None


@pytest.mark.parametrize("model", KINDS)
def test_a_bare_json_object_reaches_the_upstream_in_its_form(
    sdk: openai.OpenAI, tool_upstream: ToolUpstream, model: str
) -> None:
    sdk.chat.completions.create(
        model=model, messages=ask(model, "Hi"), response_format={"type": "json_object"}
    )
    assert tool_upstream.last()["response_format"] == KINDS[model][1]
