"""Prepaid credits: reserve before the upstream call, settle after, 402 when short."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.billing.conftest import Env, auth

PROMPT = {"words": 3, "max_tokens": 2}
REAL_COST = 3 * 500 + 2 * 1500  # what the fake upstream reports for PROMPT


def _balance(env: Env, key: str) -> int | None:
    r = env.get("/v1/billing/balance", key)
    assert r.status_code == 200, r.text
    value: int | None = r.json()["balance_nano_usd"]
    return value


def _estimate(env: Env) -> int:
    """The reservation the gateway makes for PROMPT, read from its 402 message."""
    broke = env.gw.create_key("broke", "--balance-usd", "0")
    r = env.chat(broke, **PROMPT)
    assert r.status_code == 402, r.text
    error = r.json()["error"]
    assert error["type"] == "insufficient_credits"
    match = re.search(
        r"balance is (\d+) nano-USD .* may cost up to (\d+) nano-USD", error["message"]
    )
    assert match and match.group(1) == "0", error["message"]
    return int(match.group(2))


def test_settles_the_real_cost_and_releases_the_rest(env: Env) -> None:
    key = env.gw.create_key("prepaid", "--balance-usd", "0.01")
    assert _balance(env, key) == 10_000_000
    r = env.chat(key, **PROMPT)
    assert r.status_code == 200, r.text
    assert _balance(env, key) == 10_000_000 - REAL_COST
    streamed = {
        "model": "example-chat",
        "stream": True,
        "max_tokens": 2,
        "messages": [{"role": "user", "content": "a b c"}],
    }
    with httpx.stream(
        "POST", env.url + "/v1/chat/completions", json=streamed, headers=auth(key), timeout=30
    ) as s:
        assert s.status_code == 200
        list(s.iter_lines())
    assert _balance(env, key) == 10_000_000 - 2 * REAL_COST


def test_not_enough_credits_is_402_and_credit_cli_tops_up(env: Env) -> None:
    estimate = _estimate(env)
    assert estimate >= REAL_COST
    key = env.gw.create_key("topup", "--balance-usd", "0")
    assert env.chat(key, **PROMPT).status_code == 402
    out = env.gw.cli("keys", "credit", key, "--usd", "0.000100000")
    assert "balance 100000 nano-USD" in out.stdout
    r = env.chat(key, **PROMPT)
    assert r.status_code == 200, r.text
    assert _balance(env, key) == 100_000 - REAL_COST
    assert env.gw.cli("keys", "credit", key, "--usd", "-1", check=False).returncode == 1


def test_unlimited_and_partner_keys_are_not_charged(env: Env) -> None:
    assert _balance(env, env.user) is None
    assert env.chat(env.user).status_code == 200
    partner = env.gw.create_key("hf-prepaid", "--partner", "--balance-usd", "0")
    r = env.chat(partner, **PROMPT)
    assert r.status_code == 200  # HF bills its users; the billing endpoint prices it
    assert _balance(env, partner) == 0
    rid = r.headers["inference-id"]
    assert env.costs(env.partner, [rid]) == {rid: REAL_COST}


def test_concurrent_requests_never_overdraw(env: Env) -> None:
    estimate = _estimate(env)
    start = 50 * estimate
    key = env.gw.create_key("crowd")
    env.gw.cli("keys", "credit", key, "--usd", f"{start / 10**9:.9f}")
    assert _balance(env, key) == start

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=env.url, timeout=120, limits=limits) as client:
            body = {
                "model": "example-chat",
                "max_tokens": 2,
                "messages": [{"role": "user", "content": "x y z"}],
            }
            return await asyncio.gather(
                *(
                    client.post("/v1/chat/completions", json=body, headers=auth(key))
                    for _ in range(200)
                )
            )

    responses = asyncio.run(run())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 402}, statuses
    ok = [r for r in responses if r.status_code == 200]
    assert len(ok) >= 50  # every reservation fits, and released ones admit more
    final = _balance(env, key)
    assert final is not None and final >= 0
    ids = [r.headers["inference-id"] for r in ok]
    spent = sum(env.costs(env.admin, ids).values())
    assert spent == len(ok) * REAL_COST == start - final <= start
