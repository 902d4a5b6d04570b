"""A JSON schema sent as ``response_format`` in OpenAI's, TGI's or llama.cpp's form, on
every chat route, reaches each upstream in that upstream's own form: OpenAI's
``json_schema`` (named ``schema`` when the caller gave no name) for an OpenAI-kind one,
TGI's ``json_object`` + ``value`` for an HF-kind one; streamed and not; also as
``huggingface_hub.InferenceClient.chat_completion`` sends it. A schema that is not an
object is a 400 with the request id, and no upstream is asked."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from huggingface_hub import InferenceClient

from gatewayz.hf_check.chat import PERSON_SCHEMA, schema_errors
from tests.checks import bearer, chat_body, error_message, hub_chat_text
from tests.servers import Gateway, ToolUpstream

NAMED = {"name": "person", "schema": PERSON_SCHEMA, "strict": True}
# The dialect a caller sends -> (what an OpenAI-kind upstream gets, what TGI gets)
TGI = {"type": "json_object", "value": PERSON_SCHEMA}
UNNAMED = {"type": "json_schema", "json_schema": {"name": "schema", "schema": PERSON_SCHEMA}}
DIALECTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "openai": ({"type": "json_schema", "json_schema": NAMED}, TGI),
    "tgi-json": ({"type": "json", "value": PERSON_SCHEMA}, TGI),
    "tgi-json-object": (TGI, TGI),
    "tgi-json-schema": ({"type": "json_schema", "value": NAMED}, TGI),
    "llama-cpp": ({"type": "json_object", "schema": PERSON_SCHEMA}, TGI),
}
EXPECTED_OPENAI = {
    "openai": {"type": "json_schema", "json_schema": NAMED},
    "tgi-json": UNNAMED,
    "tgi-json-object": UNNAMED,
    "tgi-json-schema": {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": PERSON_SCHEMA, "strict": True},
    },
    "llama-cpp": UNNAMED,
}
KINDS = {"good-chat": "openai", "good-chat-hf": "hf"}
PATHS = {"v1": "/v1/chat/completions", "model-url": "/models/{model}/v1/chat/completions"}


def expected(dialect: str, model: str) -> dict[str, Any]:
    return EXPECTED_OPENAI[dialect] if KINDS[model] == "openai" else DIALECTS[dialect][1]


def streamed_text(resp: httpx.Response) -> str:
    text = ""
    for line in resp.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            choices = json.loads(line[6:]).get("choices") or [{}]
            text += choices[0].get("delta", {}).get("content") or ""
    return text


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_dialect_reaches_each_upstream_in_its_form(
    gw: Gateway, user_key: str, tool_upstream: ToolUpstream, dialect: str, model: str, path: str
) -> None:
    body = chat_body(model, "Invent a person.", response_format=DIALECTS[dialect][0])
    body["max_tokens"] = 64
    url = gw.url + PATHS[path].format(model=model)
    resp = httpx.post(url, json=body, headers=bearer(user_key), timeout=30)
    assert resp.status_code == 200, resp.text
    assert tool_upstream.last()["response_format"] == expected(dialect, model)
    text = resp.json()["choices"][0]["message"]["content"]
    assert schema_errors(json.loads(text), PERSON_SCHEMA) is None


@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize("dialect", ["tgi-json", "llama-cpp"])
def test_a_stream_sends_the_upstream_its_form(
    gw: Gateway, user_key: str, tool_upstream: ToolUpstream, dialect: str, model: str
) -> None:
    body = chat_body(model, "Invent a person.", response_format=DIALECTS[dialect][0])
    body.update(max_tokens=64, stream=True)
    url = f"{gw.url}/v1/chat/completions"
    with httpx.stream("POST", url, json=body, headers=bearer(user_key), timeout=30) as resp:
        assert resp.status_code == 200
        text = streamed_text(resp)
    assert tool_upstream.last()["response_format"] == expected(dialect, model)
    assert schema_errors(json.loads(text), PERSON_SCHEMA) is None


@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize("stream", [False, True])
def test_huggingface_hub_as_its_docstring_calls_it(
    gw: Gateway, user_key: str, tool_upstream: ToolUpstream, model: str, stream: bool
) -> None:
    """``chat_completion(response_format={"type": "json", "value": ...})``, the example in
    ``InferenceClient.chat_completion``'s docstring, with the gateway as the base URL."""
    client = InferenceClient(base_url=f"{gw.url}/v1", api_key=user_key)
    fmt = {"type": "json", "value": PERSON_SCHEMA}
    text = hub_chat_text(client, model, "Invent a person.", fmt, stream=stream)
    assert tool_upstream.last()["response_format"] == expected("tgi-json", model)
    assert schema_errors(json.loads(text), PERSON_SCHEMA) is None


@pytest.mark.parametrize("model", KINDS)
def test_huggingface_hub_with_the_model_url(
    gw: Gateway, user_key: str, tool_upstream: ToolUpstream, model: str
) -> None:
    """Given the model's URL, the client (its hf-inference helper) rewrites OpenAI's
    json_schema into TGI's form; an OpenAI-kind upstream still gets OpenAI's."""
    client = InferenceClient(model=f"{gw.url}/models/{model}", api_key=user_key)
    fmt = {"type": "json_schema", "json_schema": NAMED}
    text = hub_chat_text(client, None, "Invent a person.", fmt)
    assert tool_upstream.last()["response_format"] == expected("tgi-json", model)
    assert schema_errors(json.loads(text), PERSON_SCHEMA) is None


@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "text", "json_schema": NAMED},  # text drops what it cannot use
        {"type": "json_object"},
    ],
)
def test_text_and_a_bare_json_object_pass(
    gw: Gateway, user_key: str, tool_upstream: ToolUpstream, model: str, fmt: dict[str, Any]
) -> None:
    resp = httpx.post(
        f"{gw.url}/v1/chat/completions",
        json=chat_body(model, response_format=fmt),
        headers=bearer(user_key),
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    sent = tool_upstream.last()["response_format"]
    if fmt["type"] == "text":
        assert sent == {"type": "text"}
    elif KINDS[model] == "openai":
        assert sent == {"type": "json_object"}
    else:
        assert sent == {"type": "json_object", "value": {"type": "object"}}


def responses_body(model: str, fmt: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "input": "Invent a person.", "text": {"format": fmt}}


@pytest.mark.parametrize("model", KINDS)
@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "json", "value": PERSON_SCHEMA},
        {"type": "json_object", "value": PERSON_SCHEMA},
        {"type": "json_schema", "schema": PERSON_SCHEMA},  # no name: "schema"
    ],
)
def test_responses_text_format_in_each_dialect(
    gw: Gateway, user_key: str, tool_upstream: ToolUpstream, model: str, fmt: dict[str, Any]
) -> None:
    resp = httpx.post(
        f"{gw.url}/v1/responses",
        json=responses_body(model, fmt),
        headers=bearer(user_key),
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert tool_upstream.last()["response_format"] == expected("tgi-json", model)
    (message,) = resp.json()["output"]
    assert schema_errors(json.loads(message["content"][0]["text"]), PERSON_SCHEMA) is None


BAD_FORMATS = {
    "tgi value a list": {"type": "json", "value": [1, 2]},
    "tgi value text": {"type": "json_object", "value": "{}"},
    "tgi value null": {"type": "json_object", "value": None},
    "openai schema text": {"type": "json_schema", "json_schema": {"name": "x", "schema": "{}"}},
    "openai without schema": {"type": "json_schema", "json_schema": {"name": "x"}},
    "openai json_schema a list": {"type": "json_schema", "json_schema": [PERSON_SCHEMA]},
    "openai name too long": {
        "type": "json_schema",
        "json_schema": {"name": "n" * 65, "schema": PERSON_SCHEMA},
    },
    "openai strict text": {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": PERSON_SCHEMA, "strict": "yes"},
    },
    "llama schema number": {"type": "json_object", "schema": 3},
    "unknown type": {"type": "xml"},
    "not an object": "json",
    "regex without pattern": {"type": "regex", "value": {"a": 1}},
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", BAD_FORMATS)
def test_a_bad_format_is_a_400_and_no_upstream_is_asked(
    gw: Gateway, user_key: str, tool_upstream: ToolUpstream, case: str, stream: bool, path: str
) -> None:
    marker = f"marker {uuid.uuid4().hex}"
    url = gw.url + PATHS[path].format(model="good-chat")
    ok = httpx.post(url, json=chat_body("good-chat", marker), headers=bearer(user_key))
    assert ok.status_code == 200
    body = chat_body("good-chat", "Invent a person.", response_format=BAD_FORMATS[case])
    body["stream"] = stream
    resp = httpx.post(url, json=body, headers=bearer(user_key), timeout=30)
    message = error_message(resp, 400)
    assert "response_format" in message
    assert "Traceback" not in resp.text
    assert tool_upstream.last()["messages"][0]["content"] == marker
    rows = gw.rows(
        "SELECT status FROM usage_records WHERE request_id = ?", resp.headers["inference-id"]
    )
    assert [r["status"] for r in rows] in ([], [400])  # never billed as answered


@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "json", "value": "not a schema"},
        {"type": "json_schema", "value": [1]},
        {"type": "json_object", "schema": "x"},
    ],
)
def test_a_bad_responses_format_is_a_400(gw: Gateway, user_key: str, fmt: dict[str, Any]) -> None:
    resp = httpx.post(
        f"{gw.url}/v1/responses", json=responses_body("good-chat", fmt), headers=bearer(user_key)
    )
    assert "text.format" in error_message(resp, 400)
