"""Bad input, missing keys, unknown models, credits, limits and broken streams on the two
families: always a clear 4xx (never a 500) in the family's own error shape, with the
request id; ``/v1/messages`` in Anthropic's shape, ``/v1/responses`` in OpenAI's."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest

from tests.families.conftest import anthropic_client, openai_client
from tests.servers import Gateway

HELLO = [{"role": "user", "content": "hello"}]


def post(gateway: Gateway, path: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(f"{gateway.url}{path}", json=body, headers=headers, timeout=30)


def anthropic_error(r: httpx.Response, status: int, kind: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == kind, body
    assert body["request_id"] == r.headers["inference-id"]
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"model": "tooly", "messages": HELLO}, "max_tokens"),
        ({"model": "tooly", "max_tokens": "ten", "messages": HELLO}, "max_tokens"),
        ({"model": "tooly", "max_tokens": 0, "messages": HELLO}, "max_tokens"),
        ({"model": "tooly", "max_tokens": 10**30, "messages": HELLO}, "max_tokens"),
        ({"model": "tooly", "max_tokens": 10_000, "messages": HELLO}, "max_tokens"),
        ({"model": "tooly", "max_tokens": 8, "messages": []}, "messages"),
        ({"model": "tooly", "max_tokens": 8, "messages": "hello"}, "messages"),
        (
            {"model": "tooly", "max_tokens": 8, "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
        ),
        ({"model": 7, "max_tokens": 8, "messages": HELLO}, "model"),
        ({"model": "tooly", "max_tokens": 8, "messages": HELLO, "temperature": 3}, "temperature"),
        (
            {"model": "tooly", "max_tokens": 8, "messages": HELLO, "stop_sequences": "x"},
            "stop_sequences",
        ),
        ({"model": "tooly", "max_tokens": 8, "messages": HELLO, "colour": "red"}, "colour"),
        (
            {
                "model": "tooly",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": [{"type": "video", "url": "x"}]}],
            },
            "messages[0].content[0]",
        ),
        (
            {
                "model": "tooly",
                "max_tokens": 8,
                "messages": [
                    {"role": "user", "content": [{"type": "tool_result", "content": "x"}]}
                ],
            },
            "tool_use_id",
        ),
        (
            {
                "model": "tooly",
                "max_tokens": 8,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}
                        ],
                    }
                ],
            },
            "messages[0].content[0].tool_use_id",
        ),
        (
            {
                "model": "tooly",
                "max_tokens": 8,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [{"type": "text"}],
                            }
                        ],
                    }
                ],
            },
            "text",
        ),
        (
            {
                "model": "tooly",
                "max_tokens": 8,
                "messages": [
                    {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}
                ],
            },
            "messages[0].content[0]",
        ),
        (
            {"model": "tooly", "max_tokens": 8, "messages": HELLO, "tools": [{"name": "x"}]},
            "input_schema",
        ),
        (
            {"model": "tooly", "max_tokens": 8, "messages": HELLO, "tool_choice": {"type": "tool"}},
            "tool_choice.name",
        ),
    ],
)
def test_bad_message_requests_are_400_naming_the_field(
    families: Gateway, key: str, body: dict[str, Any], where: str
) -> None:
    for stream in (False, True):
        r = post(families, "/v1/messages", {**body, "stream": stream}, **{"x-api-key": key})
        assert where in anthropic_error(r, 400, "invalid_request_error")


def test_malformed_json_and_non_object_bodies_are_400(families: Gateway, key: str) -> None:
    for raw in (b"{", b"[1, 2]", b""):
        r = httpx.post(
            f"{families.url}/v1/messages", content=raw, headers={"x-api-key": key}, timeout=30
        )
        anthropic_error(r, 400, "invalid_request_error")


def test_missing_and_wrong_keys_are_401_in_anthropic_shape(families: Gateway) -> None:
    missing = post(families, "/v1/messages", {})
    anthropic_error(missing, 401, "authentication_error")
    # The message names the header Anthropic's clients send, not only Bearer.
    assert "x-api-key: <key>" in missing.json()["error"]["message"]
    with pytest.raises(anthropic.AuthenticationError) as err:
        anthropic_client(families, "gz_nope_nope").messages.create(
            model="tooly",
            max_tokens=8,
            messages=HELLO,  # type: ignore[arg-type]
        )
    assert err.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    rid = err.value.response.headers["inference-id"]
    assert rid and err.value.request_id == rid  # Anthropic's SDK reads ``request-id``
    count = post(families, "/v1/messages/count_tokens", {"model": "tooly", "messages": HELLO})
    anthropic_error(count, 401, "authentication_error")


def test_unknown_model_is_404_in_anthropic_shape(families: Gateway, key: str) -> None:
    with pytest.raises(anthropic.NotFoundError) as err:
        anthropic_client(families, key).messages.create(
            model="no-such-model",
            max_tokens=8,
            messages=HELLO,  # type: ignore[arg-type]
        )
    assert err.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert "no-such-model" in err.value.message


def test_too_little_credit_is_402_billing_error(families: Gateway) -> None:
    broke = families.create_key("broke", "--balance-usd", "0")
    for stream in (False, True):
        body = {"model": "tooly", "max_tokens": 8, "messages": HELLO, "stream": stream}
        r = post(families, "/v1/messages", body, **{"x-api-key": broke})
        assert "nano-USD" in anthropic_error(r, 402, "billing_error")
    with pytest.raises(openai.APIStatusError) as err:
        openai_client(families, broke).responses.create(model="tooly", input="hello")
    assert err.value.status_code == 402


def test_rate_limit_is_429_rate_limit_error(families: Gateway) -> None:
    limited = families.create_key("limited", "--rpm", "1")
    body = {"model": "tooly", "max_tokens": 8, "messages": HELLO}
    assert post(families, "/v1/messages", body, **{"x-api-key": limited}).status_code == 200
    r = post(families, "/v1/messages", body, **{"x-api-key": limited})
    anthropic_error(r, 429, "rate_limit_error")
    assert int(r.headers["retry-after"]) >= 1
    with pytest.raises(anthropic.RateLimitError):
        anthropic_client(families, limited).messages.create(
            model="tooly",
            max_tokens=8,
            messages=HELLO,  # type: ignore[arg-type]
        )


def test_unknown_route_under_messages_is_404_in_anthropic_shape(families: Gateway) -> None:
    r = post(families, "/v1/messages/nope", {})
    anthropic_error(r, 404, "not_found_error")
    assert r.headers["request-id"] == r.headers["inference-id"]  # the SDK's ``request_id``
    assert "x-request-id" not in r.headers


def test_upstream_cut_mid_stream_ends_with_an_error_event(families: Gateway, key: str) -> None:
    body = {"model": "tooly-cutoff", "max_tokens": 64, "stream": True, "messages": HELLO}
    with httpx.stream(
        "POST", f"{families.url}/v1/messages", json=body, headers={"x-api-key": key}, timeout=30
    ) as r:
        assert r.status_code == 200
        rid = r.headers["inference-id"]
        lines = [line for line in r.iter_lines() if line]
    assert lines[-2] == "event: error"
    error = orjson.loads(lines[-1].removeprefix("data: "))
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert error["request_id"] == rid
    assert "message_stop" not in "".join(lines)
    client = anthropic_client(families, key)
    stream = client.messages.stream(model="tooly-cutoff", max_tokens=64, messages=HELLO)  # type: ignore[arg-type]
    with pytest.raises(anthropic.APIStatusError), stream as events:
        events.get_final_message()


def test_responses_stream_cut_mid_stream_ends_with_an_error_event(
    families: Gateway, key: str
) -> None:
    body = {"model": "tooly-cutoff", "input": "hello", "stream": True}
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.stream(
        "POST", f"{families.url}/v1/responses", json=body, headers=headers, timeout=30
    ) as r:
        assert r.status_code == 200
        rid = r.headers["inference-id"]
        lines = [line for line in r.iter_lines() if line]
    assert lines[-2] == "event: error"
    error = orjson.loads(lines[-1].removeprefix("data: "))
    assert error["type"] == "error" and error["code"] == "upstream_bad_response"
    assert error["request_id"] == rid
    assert "response.completed" not in "".join(lines)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"model": "tooly"}, "input"),
        ({"model": "tooly", "input": 5}, "input"),
        ({"model": "tooly", "input": [{"type": "hologram"}]}, "input[0]"),
        ({"model": "tooly", "input": [{"role": "user"}]}, "content"),
        ({"model": "tooly", "input": "x", "max_output_tokens": 10**30}, "max_output_tokens"),
        ({"model": "tooly", "input": "x", "max_output_tokens": "many"}, "max_output_tokens"),
        (
            {"model": "tooly", "input": "x", "previous_response_id": "resp_1"},
            "previous_response_id",
        ),
        ({"model": "tooly", "input": "x", "background": True}, "background"),
        (
            {"model": "tooly", "input": "x", "text": {"format": {"type": "json_schema"}}},
            "text.format",
        ),
        (
            {
                "model": "tooly",
                "input": [{"type": "function_call_output", "call_id": "c1", "output": "x"}],
            },
            "input[0].call_id",
        ),
        ({"model": "tooly", "input": [{"type": "function_call", "name": "f"}]}, "call_id"),
    ],
)
def test_bad_responses_requests_are_400_in_openai_shape(
    families: Gateway, key: str, body: dict[str, Any], where: str
) -> None:
    r = post(families, "/v1/responses", body, Authorization=f"Bearer {key}")
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert where in error["message"] and error["type"] == "invalid_request_error"
    assert error["request_id"] == r.headers["inference-id"]


def test_responses_errors_through_the_sdk(families: Gateway, key: str) -> None:
    with pytest.raises(openai.AuthenticationError):
        openai_client(families, "gz_nope_nope").responses.create(model="tooly", input="x")
    with pytest.raises(openai.NotFoundError) as err:
        openai_client(families, key).responses.create(model="no-such-model", input="x")
    assert err.value.request_id == err.value.response.headers["inference-id"]
