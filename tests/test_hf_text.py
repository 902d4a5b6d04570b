"""Hugging Face task routes for text: text-generation (plain and TGI-style streamed) and
conversational, against a real llama.cpp upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.checks import bearer, hf_error, inference_id
from tests.servers import Gateway

TEXTGEN = "/hf/tasks/text-generation"
CONVERSATIONAL = "/hf/tasks/conversational"
PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def http(gateway: Gateway, user_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers=bearer(user_key), timeout=60) as c:
        yield c


def generate(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = http.post(path, json={"model": "smol-upstream", **body})
    assert resp.status_code == 200, resp.text
    inference_id(resp)
    result = resp.json()
    assert isinstance(result, list) and len(result) == 1
    assert isinstance(result[0]["generated_text"], str)
    return dict(result[0])


def greedy(**extra: Any) -> dict[str, Any]:
    return {"max_new_tokens": 8, "do_sample": False, **extra}


def test_text_generation_returns_generated_text(http: httpx.Client) -> None:
    out = generate(http, TEXTGEN, {"inputs": PROMPT, "parameters": greedy()})
    assert out["generated_text"].strip()
    assert not out["generated_text"].startswith(PROMPT)
    assert set(out) == {"generated_text"}


def test_model_may_be_left_out(http: httpx.Client) -> None:
    resp = http.post(TEXTGEN, json={"inputs": PROMPT, "parameters": greedy()})
    assert resp.status_code == 200, resp.text
    named = generate(http, TEXTGEN, {"inputs": PROMPT, "parameters": greedy()})
    assert resp.json()[0]["generated_text"] == named["generated_text"]  # the default model


def test_return_full_text_prepends_the_prompt(http: httpx.Client) -> None:
    plain = generate(http, TEXTGEN, {"inputs": PROMPT, "parameters": greedy()})
    full = generate(http, TEXTGEN, {"inputs": PROMPT, "parameters": greedy(return_full_text=True)})
    assert full["generated_text"] == PROMPT + plain["generated_text"]


def test_details_report_finish_reason_and_token_count(http: httpx.Client) -> None:
    out = generate(
        http, TEXTGEN, {"inputs": PROMPT, "parameters": greedy(details=True, max_new_tokens=4)}
    )
    details = out["details"]
    assert details["finish_reason"] in ("length", "eos_token", "stop_sequence")
    assert 0 < details["generated_tokens"] <= 4
    if details["generated_tokens"] < 4:
        assert details["finish_reason"] != "length"


def test_stop_sequences_cut_the_text(http: httpx.Client) -> None:
    text = generate(http, TEXTGEN, {"inputs": PROMPT, "parameters": greedy(max_new_tokens=12)})
    generated = text["generated_text"]
    assert len(generated) >= 4, generated
    stop = generated[2:4]
    cut = generate(
        http,
        TEXTGEN,
        {"inputs": PROMPT, "parameters": greedy(max_new_tokens=12, stop_sequences=[stop])},
    )
    assert cut["generated_text"] == generated[: generated.index(stop)]


def test_text_generation_stream_is_tgi_events_ending_with_the_full_text(
    http: httpx.Client,
) -> None:
    params = greedy(max_new_tokens=6)
    plain = generate(http, TEXTGEN, {"inputs": PROMPT, "parameters": params})
    resp = http.post(
        TEXTGEN,
        json={"model": "smol-upstream", "inputs": PROMPT, "parameters": params, "stream": True},
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    inference_id(resp)
    blocks = [b for b in resp.text.split("\n\n") if b.strip()]
    assert all(b.startswith("data:") for b in blocks)
    events = [json.loads(b.removeprefix("data:")) for b in blocks]
    assert "[DONE]" not in resp.text
    for event in events[:-1]:
        assert event["generated_text"] is None and event["details"] is None
        assert isinstance(event["token"]["text"], str)
    last = events[-1]
    tokens = "".join(e["token"]["text"] for e in events)
    assert last["generated_text"] == tokens == plain["generated_text"]
    assert [e["index"] for e in events] == list(range(1, len(events) + 1))
    assert last["details"]["generated_tokens"] > 0


def test_text_generation_stream_with_full_text(http: httpx.Client) -> None:
    resp = http.post(
        TEXTGEN,
        json={
            "model": "smol-upstream",
            "inputs": PROMPT,
            "parameters": greedy(max_new_tokens=4, return_full_text=True),
            "stream": True,
        },
    )
    last = json.loads(resp.text.strip().split("\n\n")[-1].removeprefix("data:"))
    assert last["generated_text"].startswith(PROMPT)
    assert len(last["generated_text"]) > len(PROMPT)


MESSAGES = [
    {"role": "system", "content": "You answer in one word."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": MESSAGES},
        {"inputs": "What is the capital of France?"},
        {"inputs": {"messages": MESSAGES}},
        {"messages": MESSAGES},
    ],
    ids=["messages-list", "string", "inputs-messages", "top-level-messages"],
)
def test_conversational_forms(http: httpx.Client, body: dict[str, Any]) -> None:
    out = generate(http, CONVERSATIONAL, {**body, "parameters": greedy()})
    assert out["generated_text"].strip()


def test_conversational_matches_chat_completions(http: httpx.Client) -> None:
    hf = generate(http, CONVERSATIONAL, {"inputs": MESSAGES, "parameters": greedy()})
    resp = http.post(
        "/v1/chat/completions",
        json={"model": "smol-upstream", "messages": MESSAGES, "max_tokens": 8, "temperature": 0},
    )
    assert hf["generated_text"] == resp.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        (CONVERSATIONAL, {"inputs": []}, "inputs"),
        (CONVERSATIONAL, {"inputs": ""}, "inputs"),
        (CONVERSATIONAL, {}, "inputs"),
        (CONVERSATIONAL, {"inputs": 42}, "inputs"),
        (CONVERSATIONAL, {"inputs": {"messages": [{"content": "hi"}]}}, "role"),
        (CONVERSATIONAL, {"inputs": [{"role": "user", "content": 3}]}, "content"),
        (CONVERSATIONAL, {"inputs": "hi", "parameters": {"top_p": 7}}, "top_p"),
        (TEXTGEN, {"inputs": ["a", "b"]}, "inputs"),
        (TEXTGEN, {"inputs": "hi", "parameters": {"stop_sequences": "x"}}, "stop_sequences"),
    ],
)
def test_bad_inputs_are_4xx_with_request_id(
    http: httpx.Client, path: str, body: dict[str, Any], where: str
) -> None:
    resp = http.post(path, json={"model": "smol-upstream", **body})
    assert 400 <= resp.status_code < 500, resp.text
    assert where in hf_error(resp, resp.status_code)
