"""Durability: SIGKILL the gateway under load; every response a client received in full
must still be priced by the billing endpoint after a restart on the same database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.billing.conftest import FakeUpstream, auth, billing_config
from tests.servers import Gateway

TOTAL, CONCURRENCY, KILL_AFTER = 200, 16, 60


async def _load(url: str, key: str, gw: Gateway) -> list[str]:
    complete: list[str] = []
    gate = asyncio.Semaphore(CONCURRENCY)
    body = {
        "model": "example-chat",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "ping"}],
    }

    async def one(client: httpx.AsyncClient) -> None:
        async with gate:
            try:
                r = await client.post("/v1/chat/completions", json=body, headers=auth(key))
                answer: Any = r.json()
            except (httpx.HTTPError, ValueError):
                return  # cut off by the kill: not a complete response
            if r.status_code == 200 and answer.get("choices"):
                complete.append(r.headers["inference-id"])
                if len(complete) == KILL_AFTER:
                    gw.proc.kill()

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await asyncio.gather(*(one(client) for _ in range(TOTAL)))
    return complete


@pytest.mark.slow
def test_kill_minus_nine_loses_no_billed_request(
    backend: str,
    fake_upstream: FakeUpstream,
    fresh_database: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    config = billing_config(fake_upstream.base_url, fresh_database(backend))
    workdir: Path = tmp_path_factory.mktemp(f"kill9-{backend}")
    gw = Gateway(workdir, config)
    partner = gw.create_key("hf-router", "--partner")
    complete = asyncio.run(_load(gw.url, partner, gw))
    assert gw.proc.wait(10) == -9
    gw.stop()
    assert len(complete) >= KILL_AFTER
    restarted = Gateway(workdir, config)
    try:
        r = httpx.post(
            restarted.url + "/v1/billing/requests",
            json={"requestIds": complete},
            headers=auth(partner),
            timeout=30,
        )
        assert r.status_code == 200
        priced = {e["requestId"]: e["costNanoUsd"] for e in r.json()["requests"]}
        missing = set(complete) - set(priced)
        assert not missing, f"{len(missing)} of {len(complete)} served requests were lost"
        assert all(cost == 500 + 1500 for cost in priced.values())
    finally:
        restarted.stop()
