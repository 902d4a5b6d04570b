"""The two families are billed exactly like a chat completion of the same tokens: same
usage record, same cost, credits held and settled; a stream cut by the client is billed
for what was delivered."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.families.conftest import anthropic_client, openai_client, usage_row
from tests.servers import Gateway

WORDS = " ".join(f"w{i}" for i in range(60))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def balance(gateway: Gateway, key: str) -> int:
    r = httpx.get(f"{gateway.url}/v1/billing/balance", headers=bearer(key), timeout=30)
    assert r.status_code == 200, r.text
    value: int = r.json()["balance_nano_usd"]
    return value


def test_usage_and_cost_equal_a_chat_completion(families: Gateway, key: str) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "the same few words"},
    ]
    chat = httpx.post(
        f"{families.url}/v1/chat/completions",
        json={"model": "tooly", "messages": messages, "max_tokens": 32},
        headers=bearer(key),
        timeout=30,
    )
    assert chat.status_code == 200, chat.text
    response = openai_client(families, key).responses.with_raw_response.create(
        model="tooly", instructions="Be brief.", input="the same few words", max_output_tokens=32
    )
    message = anthropic_client(families, key).messages.with_raw_response.create(
        model="tooly",
        system="Be brief.",
        max_tokens=32,
        messages=[messages[1]],  # type: ignore[list-item]
    )
    rows = [usage_row(families, r.headers["inference-id"]) for r in (chat, response, message)]
    assert [r["route"] for r in rows] == ["chat_completions", "responses", "messages"]
    billed = {(r["input_tokens"], r["output_tokens"], r["cost_nano_usd"]) for r in rows}
    assert billed == {(6, 6, 6 * 500 + 6 * 1_500)}


def test_credits_are_held_then_settled_at_the_real_cost(families: Gateway) -> None:
    prepaid = families.create_key("prepaid", "--balance-usd", "0.01")
    start = balance(families, prepaid)
    assert start == 10_000_000
    anthropic_client(families, prepaid).messages.create(
        model="tooly", max_tokens=32, messages=[{"role": "user", "content": "a b c"}]
    )
    cost = 3 * 500 + 5 * 1_500  # "you said: a b c"
    assert balance(families, prepaid) == start - cost
    with openai_client(families, prepaid).responses.stream(model="tooly", input="a b c") as s:
        s.get_final_response()
    assert balance(families, prepaid) == start - 2 * cost


def _record(gateway: Gateway, request_id: str) -> Any:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = gateway.rows("SELECT * FROM usage_records WHERE request_id = ?", request_id)
        if rows:
            return rows[0]
        time.sleep(0.05)
    raise AssertionError(f"no usage record for {request_id}")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/messages", {"max_tokens": 100, "messages": [{"role": "user", "content": WORDS}]}),
        ("/v1/responses", {"max_output_tokens": 100, "input": WORDS}),
    ],
)
def test_stream_cut_by_the_client_is_billed_for_what_was_delivered(
    families: Gateway, key: str, path: str, body: dict[str, Any]
) -> None:
    body = {**body, "model": "tooly-slow", "stream": True}
    with httpx.stream(
        "POST", f"{families.url}{path}", json=body, headers=bearer(key), timeout=30
    ) as r:
        assert r.status_code == 200
        rid = r.headers["inference-id"]
        deltas = 0
        for line in r.iter_lines():
            deltas += line.startswith("data") and '"delta"' in line
            if deltas == 5:
                break
    row = _record(families, rid)
    assert row["status"] == 499
    assert 5 <= row["output_tokens"] < 62  # the whole answer is 62 words
    assert row["input_tokens"] > 0
    assert row["cost_nano_usd"] == row["input_tokens"] * 500 + row["output_tokens"] * 1_500
