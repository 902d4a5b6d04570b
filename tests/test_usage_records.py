"""Usage records: one complete row per request, keyed by its Inference-Id, whose tokens
equal the response's usage and whose cost is exact integer nano-USD."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import httpx
import pytest

from tests.checks import bearer, chat_body, inference_id
from tests.servers import Gateway

MODEL = "smol-upstream"  # priced $0.50 in / $1.50 out per million tokens in conftest


def expected_cost(input_tokens: int, output_tokens: int) -> int:
    usd = (input_tokens * Fraction("0.50") + output_tokens * Fraction("1.50")) / 1_000_000
    return math.ceil(usd * 1_000_000_000)


@pytest.fixture(scope="module")
def meter_key(gateway: Gateway) -> str:
    return gateway.create_key("usage-meter")


@pytest.fixture(scope="module")
def key_id(gateway: Gateway, meter_key: str) -> int:
    rows = gateway.rows("SELECT id FROM api_keys WHERE prefix = ?", meter_key.split("_")[1])
    return int(rows[0]["id"])


@pytest.fixture(scope="module")
def http(gateway: Gateway, meter_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, headers=bearer(meter_key), timeout=60) as c:
        yield c


def the_row(gateway: Gateway, resp: httpx.Response) -> sqlite3.Row:
    rows = gateway.rows("SELECT * FROM usage_records WHERE request_id = ?", inference_id(resp))
    assert len(rows) == 1, f"{len(rows)} rows for one request"
    return rows[0]


def check_row(
    row: sqlite3.Row,
    key_id: int,
    route: str,
    task: str,
    usage: dict[str, Any],
    elapsed_s: float,
) -> None:
    assert row["api_key_id"] == key_id
    assert (row["model"], row["route"], row["task"]) == (MODEL, route, task)
    assert row["provider"] == "llama"
    assert row["status"] == 200
    assert row["input_tokens"] == usage["prompt_tokens"] > 0
    assert row["output_tokens"] == usage["completion_tokens"] > 0
    cost = row["cost_nano_usd"]
    assert type(cost) is int
    assert cost == expected_cost(row["input_tokens"], row["output_tokens"])
    assert 0 <= row["latency_ms"] <= elapsed_s * 1000 + 1
    assert row["created_at"]


def timed_post(http: httpx.Client, path: str, body: dict[str, Any]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    resp = http.post(path, json=body)
    assert resp.status_code == 200, resp.text
    return resp, time.monotonic() - started


def stream_usage(resp: httpx.Response) -> dict[str, Any]:
    events = [b.removeprefix("data: ") for b in resp.text.split("\n\n") if b.strip()]
    usage = [json.loads(e)["usage"] for e in events[:-1] if json.loads(e).get("usage")]
    assert len(usage) == 1
    return dict(usage[0])


def test_chat_writes_one_exact_row(http: httpx.Client, gateway: Gateway, key_id: int) -> None:
    resp, elapsed = timed_post(http, "/v1/chat/completions", chat_body(MODEL, "Hi there."))
    row = the_row(gateway, resp)
    check_row(row, key_id, "chat_completions", "conversational", resp.json()["usage"], elapsed)


def test_streamed_chat_writes_one_exact_row(
    http: httpx.Client, gateway: Gateway, key_id: int
) -> None:
    resp, elapsed = timed_post(http, "/v1/chat/completions", chat_body(MODEL, stream=True))
    row = the_row(gateway, resp)
    check_row(row, key_id, "chat_completions", "conversational", stream_usage(resp), elapsed)


def test_completions_write_rows(http: httpx.Client, gateway: Gateway, key_id: int) -> None:
    body = {"model": MODEL, "prompt": "One, two,", "max_tokens": 5}
    resp, elapsed = timed_post(http, "/v1/completions", body)
    check_row(
        the_row(gateway, resp),
        key_id,
        "completions",
        "text-generation",
        resp.json()["usage"],
        elapsed,
    )
    resp, elapsed = timed_post(http, "/v1/completions", {**body, "stream": True})
    check_row(
        the_row(gateway, resp),
        key_id,
        "completions",
        "text-generation",
        stream_usage(resp),
        elapsed,
    )


def test_hf_routes_write_rows(http: httpx.Client, gateway: Gateway, key_id: int) -> None:
    params = {"max_new_tokens": 5, "details": True}
    resp, elapsed = timed_post(
        http, "/hf/tasks/text-generation", {"model": MODEL, "inputs": "Hello", "parameters": params}
    )
    row = the_row(gateway, resp)
    generated = resp.json()[0]["details"]["generated_tokens"]
    usage = {"prompt_tokens": row["input_tokens"], "completion_tokens": generated}
    check_row(row, key_id, "hf_text_generation", "text-generation", usage, elapsed)

    resp, elapsed = timed_post(
        http, "/hf/tasks/conversational", {"model": MODEL, "inputs": "Hello", "parameters": params}
    )
    row = the_row(gateway, resp)
    usage = {"prompt_tokens": row["input_tokens"], "completion_tokens": row["output_tokens"]}
    check_row(row, key_id, "hf_conversational", "conversational", usage, elapsed)


def test_every_request_writes_exactly_one_row(
    http: httpx.Client, gateway: Gateway, key_id: int
) -> None:
    def count() -> int:
        rows = gateway.rows("SELECT COUNT(*) AS n FROM usage_records WHERE api_key_id = ?", key_id)
        return int(rows[0]["n"])

    before = count()
    ids = set()
    for i in range(4):
        resp = http.post(
            "/v1/chat/completions", json=chat_body(MODEL, max_tokens=2, stream=bool(i % 2))
        )
        assert resp.status_code == 200
        ids.add(inference_id(resp))
    http.get("/v1/models")  # not an inference: no row
    assert count() == before + 4
    placeholders = ",".join("?" * len(ids))
    rows = gateway.rows(
        f"SELECT request_id FROM usage_records WHERE request_id IN ({placeholders})", *ids
    )
    assert {r["request_id"] for r in rows} == ids


def test_rejected_request_writes_no_row(gateway: Gateway) -> None:
    resp = httpx.post(f"{gateway.url}/v1/chat/completions", json=chat_body(MODEL))
    assert resp.status_code == 401
    rows = gateway.rows("SELECT 1 FROM usage_records WHERE request_id = ?", inference_id(resp))
    assert rows == []


def test_stream_abandoned_by_the_caller_is_still_recorded(
    http: httpx.Client, gateway: Gateway, key_id: int
) -> None:
    body = chat_body(MODEL, "Write a long story about a dragon.", max_tokens=200, stream=True)
    with http.stream("POST", "/v1/chat/completions", json=body) as resp:
        assert resp.status_code == 200
        rid = inference_id(resp)
        lines = resp.iter_lines()
        received = [line for line, _ in zip(lines, range(12), strict=False) if line]
        assert any('"content"' in line for line in received[1:])  # text has come, then hang up
    deadline = time.monotonic() + 10
    rows: list[sqlite3.Row] = []
    while time.monotonic() < deadline and not rows:
        rows = gateway.rows("SELECT * FROM usage_records WHERE request_id = ?", rid)
        time.sleep(0.1)
    assert len(rows) == 1
    row = rows[0]
    assert row["api_key_id"] == key_id and row["status"] == 499
    assert 0 < row["output_tokens"] < 200, dict(row)
    assert row["cost_nano_usd"] == expected_cost(row["input_tokens"], row["output_tokens"])
