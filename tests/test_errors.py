"""Bad input gets a clear 4xx, a broken upstream a clear 502/504, and never a 500; a failed
request leaves either no usage row or one complete row with cost 0 and its status."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.checks import bearer, chat_body, hf_error, inference_id, openai_error
from tests.servers import Gateway

CHAT = "/v1/chat/completions"
TEXTGEN = "/hf/tasks/text-generation"


@pytest.fixture(scope="module")
def http(trouble_gateway: Gateway, trouble_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=trouble_gateway.url, headers=bearer(trouble_key), timeout=30) as c:
        yield c


def usage_row_is_complete_failure(gateway: Gateway, resp: httpx.Response) -> None:
    """Either no usage row for this request, or one whole row: cost 0, the error status."""
    rows = gateway.rows("SELECT * FROM usage_records WHERE request_id = ?", inference_id(resp))
    assert len(rows) <= 1
    for row in rows:
        assert None not in tuple(row), dict(row)
        assert row["cost_nano_usd"] == 0
        assert row["status"] == resp.status_code


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"model": "smol-failover", "messages": [', "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'"hello"', "JSON object"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_body_is_400_in_both_shapes(
    http: httpx.Client, body: bytes, fragment: str
) -> None:
    headers = {"Content-Type": "application/json"}
    error = openai_error(http.post(CHAT, content=body, headers=headers), 400, "malformed_json")
    assert fragment in error["message"]
    assert fragment in hf_error(http.post(TEXTGEN, content=body, headers=headers), 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "smol-failover"}, "messages"),
        ({"model": "smol-failover", "messages": "hi"}, "messages"),
        ({"model": "smol-failover", "messages": []}, "messages"),
        ({"model": "smol-failover", "messages": [{"content": "hi"}]}, "messages[0].role"),
        (chat_body("smol-failover", max_tokens="ten"), "max_tokens"),
        (chat_body("smol-failover", max_tokens=0), "max_tokens"),
        (chat_body("smol-failover", stream="yes"), "stream"),
        (chat_body("smol-failover", temperature=9), "temperature"),
        (chat_body(12), "model"),  # type: ignore[arg-type]
    ],
)
def test_missing_or_mistyped_chat_fields_are_400_naming_the_field(
    http: httpx.Client, body: dict[str, object], field: str
) -> None:
    error = openai_error(http.post(CHAT, json=body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(field), error["message"]


def test_completions_without_prompt_is_400(http: httpx.Client) -> None:
    error = openai_error(http.post("/v1/completions", json={"model": "smol-failover"}), 400)
    assert "prompt" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "inputs"),
        ({"inputs": 5}, "inputs"),
        ({"inputs": ""}, "inputs"),
        ({"inputs": "Hi", "parameters": {"max_new_tokens": "many"}}, "max_new_tokens"),
        ({"inputs": "Hi", "parameters": {"temperature": -1}}, "temperature"),
        ({"inputs": "Hi", "parameters": "fast"}, "parameters"),
        ({"inputs": "Hi", "stream": "sure"}, "stream"),
    ],
)
def test_bad_text_generation_input_is_4xx_naming_the_field(
    http: httpx.Client, body: dict[str, object], field: str
) -> None:
    resp = http.post(TEXTGEN, json={"model": "smol-failover", **body})
    assert 400 <= resp.status_code < 500
    assert field in hf_error(resp, resp.status_code)


def test_unknown_model_is_404_in_both_shapes(http: httpx.Client) -> None:
    error = openai_error(http.post(CHAT, json=chat_body("no-such-model")), 404, "model_not_found")
    assert "no-such-model" in error["message"]
    resp = http.post(TEXTGEN, json={"model": "no-such-model", "inputs": "Hi"})
    assert "no-such-model" in hf_error(resp, 404)


def test_model_called_for_a_task_it_does_not_serve_is_400(http: httpx.Client) -> None:
    error = openai_error(http.post(CHAT, json=chat_body("embedder")), 400, "task_not_supported")
    assert "embedder" in error["message"] and "feature-extraction" in error["message"]
    resp = http.post(TEXTGEN, json={"model": "embedder", "inputs": "Hi"})
    assert "feature-extraction" in hf_error(resp, 400)


def test_body_over_the_limit_is_413(http: httpx.Client) -> None:
    big = chat_body("smol-failover", "x" * 70_000)
    openai_error(http.post(CHAT, json=big), 413, "payload_too_large")
    hf_error(http.post(TEXTGEN, json={"inputs": "x" * 70_000}), 413)


def test_chunked_body_over_the_limit_is_413(http: httpx.Client) -> None:
    """No Content-Length to trust: the limit is enforced while reading."""

    def chunks() -> Iterator[bytes]:
        yield b'{"model": "smol-failover", "messages": [{"role": "user", "content": "'
        for _ in range(20):
            yield b"y" * 4096
        yield b'"}]}'

    resp = http.post(CHAT, content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in resp.request.headers
    openai_error(resp, 413, "payload_too_large")


def test_unknown_route_and_wrong_method_are_json_with_request_id(http: httpx.Client) -> None:
    openai_error(http.post("/v1/nothing-here", json={}), 404)
    openai_error(http.get(CHAT), 405)
    hf_error(http.post("/hf/tasks/no-such-task", json={"inputs": "x"}), 404)


def test_upstream_down_is_502_and_recorded_whole(
    http: httpx.Client, trouble_gateway: Gateway
) -> None:
    resp = http.post(CHAT, json=chat_body("smol-down"))
    error = openai_error(resp, 502, "upstream_unavailable")
    assert "unreachable" in error["message"]
    usage_row_is_complete_failure(trouble_gateway, resp)
    assert inference_id(resp) in trouble_gateway.log.read_text()  # and in the log
    resp = http.post(TEXTGEN, json={"model": "smol-down", "inputs": "Hi"})
    assert "unreachable" in hf_error(resp, 502)
    usage_row_is_complete_failure(trouble_gateway, resp)


def test_upstream_down_while_streaming_is_a_502_status(http: httpx.Client) -> None:
    resp = http.post(CHAT, json=chat_body("smol-down", stream=True))
    openai_error(resp, 502, "upstream_unavailable")
    resp = http.post(TEXTGEN, json={"model": "smol-down", "inputs": "Hi", "stream": True})
    hf_error(resp, 502)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_timeout_is_504_within_the_timeout(
    http: httpx.Client, trouble_gateway: Gateway, stream: bool
) -> None:
    started = time.monotonic()
    resp = http.post(CHAT, json=chat_body("smol-slow", stream=stream))
    elapsed = time.monotonic() - started
    error = openai_error(resp, 504, "upstream_timeout")
    assert "0.5 s" in error["message"]
    assert elapsed < 2.5  # timeout_s is 0.5; the upstream would take 3 s
    usage_row_is_complete_failure(trouble_gateway, resp)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_500_is_502_with_its_message(
    http: httpx.Client, trouble_gateway: Gateway, stream: bool
) -> None:
    resp = http.post(CHAT, json=chat_body("smol-500", stream=stream))
    error = openai_error(resp, 502, "upstream_bad_response")
    assert "500" in error["message"] and "the model crashed" in error["message"]
    usage_row_is_complete_failure(trouble_gateway, resp)


def test_upstream_garbage_is_502(http: httpx.Client, trouble_gateway: Gateway) -> None:
    resp = http.post(CHAT, json=chat_body("smol-garbage"))
    error = openai_error(resp, 502, "upstream_bad_response")
    assert "invalid JSON" in error["message"]
    usage_row_is_complete_failure(trouble_gateway, resp)
    resp = http.post(TEXTGEN, json={"model": "smol-garbage", "inputs": "Hi"})
    hf_error(resp, 502)


def test_upstream_garbage_while_streaming_is_a_502_not_a_hang(http: httpx.Client) -> None:
    resp = http.post(CHAT, json=chat_body("smol-garbage", stream=True))
    openai_error(resp, 502, "upstream_bad_response")


def test_failover_to_the_second_route_when_the_first_is_down(
    http: httpx.Client, trouble_gateway: Gateway
) -> None:
    for stream in (False, True):
        resp = http.post(CHAT, json=chat_body("smol-failover", stream=stream))
        assert resp.status_code == 200, resp.text
        if not stream:
            assert resp.json()["choices"][0]["message"]["content"]
        else:
            assert resp.text.rstrip().endswith("data: [DONE]")
        rows = trouble_gateway.rows(
            "SELECT provider, status FROM usage_records WHERE request_id = ?", inference_id(resp)
        )
        assert [tuple(r) for r in rows] == [("llama", 200)]


def test_upstream_hanging_up_mid_stream_ends_with_an_error_event(
    http: httpx.Client, trouble_gateway: Gateway
) -> None:
    """The status is already sent: the stream ends with an error event, no [DONE], and the
    usage row is whole, with the upstream failure as its status, billed for what was
    delivered (as a stream its caller left is)."""
    resp = http.post(
        CHAT, json=chat_body("smol-cutoff", "Tell me a story.", max_tokens=40, stream=True)
    )
    assert resp.status_code == 200
    events = [b.removeprefix("data: ") for b in resp.text.split("\n\n") if b.strip()]
    assert "[DONE]" not in events
    last = json.loads(events[-1])
    assert last["error"]["code"] == "upstream_bad_response", last
    assert "cutoff" in last["error"]["message"]
    deadline = time.monotonic() + 5
    rows: list[sqlite3.Row] = []
    while not rows and time.monotonic() < deadline:  # written as the stream is torn down
        rows = trouble_gateway.rows(
            "SELECT * FROM usage_records WHERE request_id = ?", inference_id(resp)
        )
        time.sleep(0.05)
    assert len(rows) == 1 and None not in tuple(rows[0])
    row = rows[0]
    delivered = sum(
        1
        for e in events[:-1]
        if any((c.get("delta") or {}).get("content") for c in json.loads(e)["choices"])
    )
    assert row["status"] == 502 and row["output_tokens"] == delivered
    assert row["cost_nano_usd"] == row["input_tokens"] * 500 + delivered * 1_500 > 0


def model_chat(model_id: str) -> str:
    """The OpenAI-compatible chat route under a model's URL (``@huggingface/inference``)."""
    return f"/models/{model_id}/v1/chat/completions"


def test_chat_under_a_model_url_answers_openai_errors_before_the_stream_starts(
    http: httpx.Client,
) -> None:
    """The route is OpenAI-compatible, so its errors are OpenAI-shaped, like ``/v1``'s."""
    error = openai_error(http.post(model_chat("no-such-model"), json=chat_body("x")), 404)
    assert error["code"] == "model_not_found" and "no-such-model" in error["message"]
    headers = {"Content-Type": "application/json"}
    openai_error(
        http.post(model_chat("smol-down"), content=b"{", headers=headers), 400, "malformed_json"
    )
    openai_error(http.get(model_chat("smol-down")), 405)
    for stream in (False, True):
        resp = http.post(model_chat("smol-down"), json=chat_body("smol-down", stream=stream))
        openai_error(resp, 502, "upstream_unavailable")
    openai_error(
        http.post(model_chat("smol-garbage"), json=chat_body("smol-garbage", stream=True)),
        502,
        "upstream_bad_response",
    )
    # Its HF sibling under the same model URL keeps the HF shape.
    hf_error(http.post("/models/smol-down", json={"inputs": "Hi"}), 502)


def test_chat_under_a_model_url_ends_a_broken_stream_with_an_openai_error_event(
    http: httpx.Client,
) -> None:
    body = chat_body("smol-cutoff", "Tell me a story.", max_tokens=40, stream=True)
    resp = http.post(model_chat("smol-cutoff"), json=body)
    assert resp.status_code == 200
    events = [b.removeprefix("data: ") for b in resp.text.split("\n\n") if b.strip()]
    assert "[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert error["code"] == "upstream_bad_response" and error["type"] == "upstream_error"
    assert error["request_id"] == inference_id(resp)
    assert "cutoff" in error["message"]
