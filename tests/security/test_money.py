"""Money under hostile input: a prepaid key never spends past its balance, whatever the
request asks for or the upstream claims; every nano-USD taken from a balance is a usage
record's cost; refused requests cost nothing; one poisoned request harms no other.

Each test runs on SQLite and on PostgreSQL, against a real gateway and a real upstream
that bills as much as it can (``greedy_upstream.py``).
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import Gateway, UvicornUpstream

PRICING = {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"}
CONTEXT = 4096
BACKENDS = [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]


class GreedyUpstream(UvicornUpstream):
    def __init__(self, workdir: Path) -> None:
        super().__init__("tests.security.greedy_upstream:app", workdir, "greedy")


def _config(upstream: str, database_url: str) -> dict[str, Any]:
    def chat(model_id: str, upstream_model: str) -> dict[str, Any]:
        return {
            "id": model_id,
            "hub_model_id": f"example/{model_id}",
            "task": "conversational",
            "context_length": CONTEXT,
            "routes": [{"provider": "greedy", "model": upstream_model}],
            "pricing": PRICING,
        }

    return {
        "database_url": database_url,
        "auth_cache_ttl_s": 0,
        "providers": [
            {"name": "greedy", "kind": "openai", "base_url": upstream, "max_retries": 0},
            {"name": "local", "kind": "local"},
        ],
        "models": [
            chat("m-max", "max"),
            chat("m-slow", "slow-max"),
            chat("m-full", "report-100-4096"),
            chat("m-liar", "report-3000000000-5"),
            chat("m-cut", "cut-5"),
            {
                "id": "embed",
                "hub_model_id": "sentence-transformers/all-MiniLM-L6-v2",
                "task": "feature-extraction",
                "routes": [{"provider": "local", "model": "default"}],
                "pricing": {"per_request_usd": "0.001"},
            },
        ],
    }


@dataclass
class Env:
    gw: Gateway
    admin: str

    def post(self, path: str, key: str, body: Any) -> httpx.Response:
        return httpx.post(self.gw.url + path, json=body, headers=_auth(key), timeout=60)

    def key(self, name: str, usd: str) -> tuple[str, int]:
        key = self.gw.create_key(name, "--balance-usd", usd)
        r = httpx.get(self.gw.url + "/v1/billing/balance", headers=_auth(key), timeout=10)
        return key, int(r.json()["api_key_id"])

    def balance(self, key: str) -> int:
        r = httpx.get(self.gw.url + "/v1/billing/balance", headers=_auth(key), timeout=10)
        return int(r.json()["balance_nano_usd"])

    def records(self, key_id: int) -> list[dict[str, Any]]:
        r = httpx.get(
            self.gw.url + "/hf/tasks/billing/usage",
            params={"api_key_id": key_id, "limit": 1000},
            headers=_auth(self.admin),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        data: list[dict[str, Any]] = r.json()["data"]
        return data

    def assert_books_balance(self, key: str, key_id: int, start: int) -> list[dict[str, Any]]:
        """The key is not below zero, and what left its balance is exactly what its usage
        records charged (holds all settled)."""
        deadline = time.monotonic() + 10
        while True:
            records = self.records(key_id)
            spent = start - self.balance(key)
            if spent == sum(r["cost_nano_usd"] for r in records) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert self.balance(key) >= 0
        assert spent == sum(r["cost_nano_usd"] for r in records)
        return records


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.fixture(scope="module")
def greedy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GreedyUpstream]:
    server = GreedyUpstream(tmp_path_factory.mktemp("greedy"))
    yield server
    server.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def env(
    request: pytest.FixtureRequest,
    greedy: GreedyUpstream,
    fresh_database: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Env]:
    url = fresh_database(request.param)
    gw = Gateway(tmp_path_factory.mktemp(f"money-{request.param}"), _config(greedy.base_url, url))
    try:
        yield Env(gw, gw.create_key("admin", "--admin"))
    finally:
        gw.stop()


def _many(env: Env, key: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(bodies))
        async with httpx.AsyncClient(base_url=env.gw.url, timeout=120, limits=limits) as client:
            return await asyncio.gather(
                *(client.post("/v1/chat/completions", json=b, headers=_auth(key)) for b in bodies)
            )

    return asyncio.run(run())


def test_inputs_that_raise_the_cost_are_held(env: Env) -> None:
    """n, best_of, a 200 KB tools list, an image part or no max_tokens: 200 concurrent
    requests of each from a key of 100,000 nano-USD spend nothing they cannot pay for."""
    key, key_id = env.key("attacker", "0.0001")
    tools = [
        {"type": "function", "function": {"name": f"f{i}", "description": "x" * 200}}
        for i in range(900)
    ]
    image = {"type": "image_url", "image_url": {"url": "http://127.0.0.1/a.png"}}
    attacks = [
        _chat("m-max", n=1000, max_tokens=16),
        _chat("m-max", best_of=50, max_tokens=16),
        _chat("m-max", tools=tools, max_tokens=1),
        _chat("m-max"),  # no max_tokens: the whole context may be generated
        {"model": "m-max", "max_tokens": 1, "messages": [{"role": "user", "content": [image]}]},
    ]
    for attack in attacks:
        responses = _many(env, key, [attack] * 200)
        statuses = {r.status_code for r in responses}
        assert statuses == {402}, (attack.keys(), statuses)
        assert "n, or add credits" in responses[0].json()["error"]["message"]
    assert env.balance(key) == 100_000
    assert env.assert_books_balance(key, key_id, 100_000) == []


def _hold_of(env: Env, body: dict[str, Any]) -> int:
    broke, _ = env.key("broke", "0")
    r = env.post("/v1/chat/completions", broke, body)
    assert r.status_code == 402, r.text
    match = re.search(r"may cost up to (\d+) nano-USD", r.json()["error"]["message"])
    assert match, r.text
    return int(match.group(1))


def test_a_balance_for_k_requests_serves_k_at_once(env: Env) -> None:
    body = _chat("m-slow", n=3, max_tokens=8)
    hold = _hold_of(env, body)
    start = 4 * hold
    key, key_id = env.key("four", f"{start / 10**9:.9f}")
    assert env.balance(key) == start
    responses = _many(env, key, [body] * 12)  # each takes 0.5 s upstream: all overlap
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 4 + [402] * 8, statuses
    records = env.assert_books_balance(key, key_id, start)
    assert len(records) == 4 and all(r["flags"] == "" for r in records)


def test_a_cost_past_the_hold_is_charged_at_the_hold_and_recorded(env: Env) -> None:
    body = _chat("m-full", max_tokens=CONTEXT)
    hold = _hold_of(env, body)
    assert hold == CONTEXT * 1_500  # a whole window at the dearer (output) price
    key, key_id = env.key("full", "0.01")
    r = env.post("/v1/chat/completions", key, body)
    assert r.status_code == 200, r.text
    (record,) = env.assert_books_balance(key, key_id, 10_000_000)
    # The upstream reports 100 prompt + 4096 output tokens: 6,194,000 nano-USD.
    assert record["cost_nano_usd"] == hold
    assert record["uncharged_nano_usd"] == 100 * 500 + CONTEXT * 1_500 - hold
    assert record["flags"] == "hold_exceeded"
    assert env.balance(key) == 10_000_000 - hold


def test_implausible_usage_is_flagged_not_billed_and_harms_no_other_request(env: Env) -> None:
    """An upstream claiming 3,000,000,000 prompt tokens is billed at the request's bound;
    40 concurrent requests of which 10 are poisoned all answer and are all recorded."""
    key, key_id = env.key("victim", "1")
    bodies = [_chat("m-liar" if i % 4 == 0 else "m-max", max_tokens=5) for i in range(40)]
    responses = _many(env, key, bodies)
    assert [r.status_code for r in responses] == [200] * 40
    records = {r["request_id"]: r for r in env.assert_books_balance(key, key_id, 10**9)}
    assert len(records) == 40
    for body, response in zip(bodies, responses, strict=True):
        record = records[response.headers["inference-id"]]
        if body["model"] == "m-liar":
            usage = response.json()["usage"]
            assert usage["prompt_tokens"] < CONTEXT  # billed at the bound, not 3e9
            assert record["flags"] == "usage_implausible"
            assert record["input_tokens"] == usage["prompt_tokens"]
            assert record["cost_nano_usd"] == usage["prompt_tokens"] * 500 + 5 * 1_500
            assert record["uncharged_nano_usd"] > 1_000_000_000  # the USD 1,500 claimed
        else:
            assert record["flags"] == "" and record["uncharged_nano_usd"] == 0
    # An unmetered key is protected the same way.
    user = env.gw.create_key("unmetered")
    r = env.post("/v1/chat/completions", user, _chat("m-liar", max_tokens=5))
    assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] < CONTEXT


def test_a_refused_request_costs_nothing(env: Env) -> None:
    key, key_id = env.key("embedder", "0.01")
    r = env.post("/v1/embeddings", key, {"model": "embed", "input": "hi", "dimensions": 99999})
    assert r.status_code == 400, r.text
    assert "dimensions" in r.json()["error"]["message"]
    ok = env.post("/v1/embeddings", key, {"model": "embed", "input": "hi", "dimensions": 8})
    assert ok.status_code == 200 and len(ok.json()["data"][0]["embedding"]) == 8
    records = {r["request_id"]: r for r in env.assert_books_balance(key, key_id, 10_000_000)}
    refused = records[r.headers["inference-id"]]
    assert refused["status"] == 400 and refused["cost_nano_usd"] == 0
    assert records[ok.headers["inference-id"]]["cost_nano_usd"] == 1_000_000
    assert env.balance(key) == 10_000_000 - 1_000_000


def test_a_stream_cut_by_the_upstream_is_billed_for_what_was_delivered(env: Env) -> None:
    key, key_id = env.key("streamer", "0.01")
    body = _chat("m-cut", max_tokens=50, stream=True)
    with httpx.stream(
        "POST", env.gw.url + "/v1/chat/completions", json=body, headers=_auth(key), timeout=30
    ) as s:
        assert s.status_code == 200
        rid = s.headers["inference-id"]
        lines = [line for line in s.iter_lines() if line.startswith("data:")]
    assert sum('"word ' in line for line in lines) == 5
    assert '"error"' in lines[-1]
    records = {r["request_id"]: r for r in env.assert_books_balance(key, key_id, 10_000_000)}
    record = records[rid]
    assert record["status"] == 502 and record["output_tokens"] == 5
    assert record["cost_nano_usd"] > 5 * 1_500


@pytest.mark.postgres
def test_holds_of_a_killed_instance_are_settled_by_another_within_seconds(
    greedy: GreedyUpstream, fresh_database: Any, tmp_path: Path
) -> None:
    url = fresh_database("postgresql")
    config = _config(greedy.base_url, url)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    survivor = Gateway(tmp_path / "a", config)
    victim = Gateway(tmp_path / "b", config)
    try:
        env = Env(survivor, survivor.create_key("admin", "--admin"))
        key, _ = env.key("k", "0.01")

        async def in_flight() -> None:
            async with httpx.AsyncClient(timeout=30) as client:
                request = client.post(
                    victim.url + "/v1/chat/completions",
                    json=_chat("m-slow", max_tokens=8),
                    headers=_auth(key),
                )
                task = asyncio.ensure_future(request)
                await asyncio.sleep(0.3)  # reserved, waiting on the slow upstream
                victim.proc.send_signal(signal.SIGKILL)
                with pytest.raises(httpx.TransportError):
                    await task

        asyncio.run(in_flight())
        assert env.balance(key) < 10_000_000  # the dead request's hold
        killed = time.monotonic()
        while env.balance(key) != 10_000_000 and time.monotonic() - killed < 40:
            time.sleep(0.5)
        # Returned whole (the request was never answered, so nothing is charged), within
        # the dead-instance delay plus one sweep.
        assert env.balance(key) == 10_000_000
        assert time.monotonic() - killed < 30
    finally:
        victim.stop()
        survivor.stop()


def test_balances_stay_inside_64_bits(env: Env) -> None:
    key, key_id = env.key("rich", "1000000000")  # USD 1 billion: the most a key may hold
    for amount in ("1e999999999", "1000000000.000000001", "1"):
        out = env.gw.cli("keys", "credit", f"id:{key_id}", "--usd", amount, check=False)
        assert out.returncode == 1 and "at most" in out.stderr, (amount, out.stderr)
        assert "Traceback" not in out.stderr
    assert env.balance(key) == 10**18
