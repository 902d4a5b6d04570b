"""Both families against the embedded default (``gatewayz serve`` with no configuration:
SmolLM2 in the process), through the official SDKs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.families.conftest import anthropic_client, openai_client
from tests.servers import Gateway

MODEL = "smollm2-135m-instruct"
QUESTION = "What is the capital of France?"


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
