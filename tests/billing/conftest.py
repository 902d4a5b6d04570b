"""Billing test fixtures: every test here runs once on SQLite and once on PostgreSQL,
against a real gateway process and a real (tiny, deterministic) OpenAI-compatible upstream."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.servers import Gateway, UvicornUpstream, free_port

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
BACKENDS = [pytest.param("sqlite"), pytest.param("postgresql", marks=pytest.mark.postgres)]
PRICING = {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"}
CONTEXT = 4096


class FakeUpstream(UvicornUpstream):
    def __init__(self, workdir: Path) -> None:
        super().__init__("tests.billing.fake_upstream:app", workdir, "fake-upstream")


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def fresh_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A function that makes an empty database of a backend and returns its URL; the
    PostgreSQL databases are dropped at the end of the session."""
    created: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'gatewayz.db'}"
        name = f"gatewayz_test_{secrets.token_hex(6)}"
        asyncio.run(_pg(f"CREATE DATABASE {name}"))
        created.append(name)
        return f"{PG_SERVER}/{name}"

    yield make
    for name in created:
        asyncio.run(_pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def fake_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeUpstream]:
    server = FakeUpstream(tmp_path_factory.mktemp("fake-upstream"))
    yield server
    server.stop()


def billing_config(upstream_url: str, database_url: str) -> dict[str, Any]:
    def model(model_id: str, upstream_model: str, pricing: dict[str, str]) -> dict[str, Any]:
        return {
            "id": model_id,
            "hub_model_id": f"example/{model_id}",
            "task": "conversational",
            "tasks": ["text-generation"],
            "context_length": CONTEXT,
            "routes": [{"provider": "fake", "model": upstream_model}],
            "pricing": pricing,
        }

    return {
        "database_url": database_url,
        "auth_cache_ttl_s": 2,
        "providers": [
            {"name": "fake", "kind": "openai", "base_url": upstream_url},
            {"name": "down", "kind": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
        ],
        "models": [
            model("example-chat", "fast", PRICING),
            model("example-slow", "slow", PRICING),
            {
                **model("example-down", "fast", PRICING),
                "routes": [{"provider": "down", "model": "x"}],
            },
            model(
                "example-all-prices",
                "fast",
                {
                    "input_per_million_usd": "0.50",
                    "output_per_million_usd": "1.50",
                    "per_image_usd": "0.004",
                    "per_request_usd": "0.0001",
                    "per_1k_chars_usd": "0.015",
                },
            ),
        ],
    }


@dataclass
class Env:
    backend: str
    database_url: str
    config: dict[str, Any]
    gw: Gateway
    admin: str
    partner: str
    user: str

    @property
    def url(self) -> str:
        return self.gw.url

    def post(self, path: str, key: str, body: Any) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=auth(key), timeout=60)

    def get(self, path: str, key: str, **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, params=params, headers=auth(key), timeout=60)

    def chat(self, key: str, words: int = 10, max_tokens: int = 5, **extra: Any) -> httpx.Response:
        body = {
            "model": extra.pop("model", "example-chat"),
            "messages": [{"role": "user", "content": " ".join(["hello"] * words)}],
            "max_tokens": max_tokens,
            **extra,
        }
        return self.post("/v1/chat/completions", key, body)

    def costs(self, key: str, ids: list[str]) -> dict[str, int]:
        r = self.post("/v1/billing/requests", key, {"requestIds": ids})
        assert r.status_code == 200, r.text
        return {e["requestId"]: e["costNanoUsd"] for e in r.json()["requests"]}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def env(
    backend: str,
    fake_upstream: FakeUpstream,
    fresh_database: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Env]:
    database_url = fresh_database(backend)
    config = billing_config(fake_upstream.base_url, database_url)
    gw = Gateway(tmp_path_factory.mktemp(f"billing-{backend}"), config)
    try:
        yield Env(
            backend,
            database_url,
            config,
            gw,
            admin=gw.create_key("admin", "--admin"),
            partner=gw.create_key("hf-router", "--partner"),
            user=gw.create_key("user"),
        )
    finally:
        gw.stop()
