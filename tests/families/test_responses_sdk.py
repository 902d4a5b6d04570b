"""``POST /v1/responses`` through the official ``openai`` SDK, unmodified, against a real
OpenAI-compatible upstream and the same upstream configured as an HF-kind provider."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from tests.families.conftest import openai_client, usage_row
from tests.servers import Gateway, ToolUpstream

MODELS = ["tooly", "tooly-hf"]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city now.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


@pytest.mark.parametrize("model", MODELS)
def test_text_input_with_instructions_is_answered_billed_and_recorded(
    families: Gateway, key: str, tool_upstream: ToolUpstream, model: str
) -> None:
    raw = openai_client(families, key).responses.with_raw_response.create(
        model=model,
        input="hello there",
        instructions="Be brief.",
        max_output_tokens=50,
        temperature=0.5,
        top_p=0.9,
    )
    response = raw.parse()
    assert response._request_id == raw.headers["inference-id"]  # the SDK's ``x-request-id``
    assert response.output_text == "you said: hello there"
    assert response.status == "completed" and response.model == model
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (4, 4)
    sent = tool_upstream.last()
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"]) == (50, 0.5, 0.9)
    row = usage_row(families, raw.headers["inference-id"])
    assert (row["route"], row["model"], row["status"]) == ("responses", model, 200)
    assert (row["input_tokens"], row["output_tokens"]) == (4, 4)
    assert row["cost_nano_usd"] == 4 * 500 + 4 * 1_500


@pytest.mark.parametrize("model", MODELS)
def test_function_tool_round_trip(
    families: Gateway, key: str, tool_upstream: ToolUpstream, model: str
) -> None:
    client = openai_client(families, key)
    question: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.responses.create(model=model, input=question, tools=[WEATHER])
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    followed = [
        *question,
        *first.output,
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"},
    ]
    second = client.responses.create(model=model, input=followed, tools=[WEATHER])
    assert second.output_text == "the tool said: sunny, 21 C"
    sent = tool_upstream.last()["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.call_id
    assert sent[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny, 21 C"}


@pytest.mark.parametrize("model", MODELS)
def test_stream_sends_the_whole_event_sequence(families: Gateway, key: str, model: str) -> None:
    client = openai_client(families, key)
    with client.responses.stream(model=model, input="one two three") as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    deltas = types.count("response.output_text.delta")
    assert deltas == 5  # "you said: one two three", one word per chunk
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert final.output_text == "you said: one two three"
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 5)


@pytest.mark.parametrize("model", MODELS)
def test_streamed_tool_call_and_its_output(families: Gateway, key: str, model: str) -> None:
    client = openai_client(families, key)
    question: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    with client.responses.stream(model=model, input=question, tools=[WEATHER]) as stream:
        types = [event.type for event in stream]
        first = stream.get_final_response()
    assert types.count("response.function_call_arguments.delta") == 2
    assert "response.function_call_arguments.done" in types
    (call,) = first.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Paris"}
    answer = {"type": "function_call_output", "call_id": call.call_id, "output": "rain"}
    followed = [*question, *first.output, answer]
    with client.responses.stream(model=model, input=followed, tools=[WEATHER]) as stream:
        second = stream.get_final_response()
    assert second.output_text == "the tool said: rain"


class City(pydantic.BaseModel):
    name: str
    population: int


@pytest.mark.parametrize("model", MODELS)
def test_json_schema_answer_parses(
    families: Gateway, key: str, tool_upstream: ToolUpstream, model: str
) -> None:
    client = openai_client(families, key)
    parsed = client.responses.parse(model=model, input="A big city?", text_format=City)
    assert parsed.output_parsed == City(name="Paris", population=3)
    sent = tool_upstream.last()["response_format"]
    if model == "tooly-hf":  # TGI takes the schema in its own form (docs/HF_CHECK.md)
        assert sent["type"] == "json_object"
        assert set(sent["value"]["properties"]) == {"name", "population"}
        return
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "City"
    assert sent["json_schema"]["strict"] is True


def test_cut_at_max_output_tokens_is_incomplete(families: Gateway, key: str) -> None:
    client = openai_client(families, key)
    response = client.responses.create(model="tooly", input="a b c d e f", max_output_tokens=3)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "you said: a"


def test_provider_speaking_responses_gets_the_request_as_sent(
    families: Gateway, key: str, tool_upstream: ToolUpstream
) -> None:
    client = openai_client(families, key)
    raw = client.responses.with_raw_response.create(
        model="tooly-native",
        input="hello there",
        instructions="Be brief.",
        previous_response_id="resp_kept_upstream",
        reasoning={"effort": "low"},
    )
    response = raw.parse()
    assert response.output_text == "responses api says: hello there"
    assert response.model == "tooly-native"
    sent = tool_upstream.last()
    assert sent["model"] == "tooly"  # the route's upstream model
    assert sent["previous_response_id"] == "resp_kept_upstream"
    assert sent["reasoning"] == {"effort": "low"} and "messages" not in sent
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (4, 5)
    row = usage_row(families, raw.headers["inference-id"])
    assert (row["route"], row["input_tokens"], row["output_tokens"]) == ("responses", 4, 5)
    assert row["cost_nano_usd"] == 4 * 500 + 5 * 1_500


def test_provider_speaking_responses_streams_its_own_events(
    families: Gateway, key: str, tool_upstream: ToolUpstream
) -> None:
    client = openai_client(families, key)
    with client.responses.stream(model="tooly-native", input="one two") as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert types == [
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 5,
        "response.output_item.done",
        "response.completed",
    ]
    assert final.output_text == "responses api says: one two" and final.model == "tooly-native"
    assert "stream_options" not in tool_upstream.last()
    assert final.usage is not None and final.usage.output_tokens == 5
