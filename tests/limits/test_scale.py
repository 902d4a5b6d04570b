"""Three gateway processes on one PostgreSQL database and one Redis behave as one: rate
limits, concurrency and credits hold across them, a killed instance loses no usage record,
and Redis stopped or paused does what ``redis_unavailable`` says. Both servers are the
test's own (the shared PostgreSQL's connection cap is shared with other test runs)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.limits.conftest import (
    CHAT,
    PrivatePostgres,
    RedisServer,
    auth,
    burst,
    chat_body,
    limits_config,
    statuses,
)
from tests.servers import Gateway

pytestmark = pytest.mark.postgres
WINDOW_S = 20.0


class Cluster:
    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self.config = config
        self.workdir = workdir
        self.gateways: list[Gateway] = []
        for i in range(3):
            (workdir / str(i)).mkdir()
            self.gateways.append(Gateway(workdir / str(i), config))

    @property
    def urls(self) -> list[str]:
        return [g.url for g in self.gateways]

    def key(self, name: str, *flags: str) -> str:
        return self.gateways[0].create_key(name, *flags)

    def stop(self) -> None:
        for g in self.gateways:
            g.stop()


@pytest.fixture(scope="module")
def config(
    fake_upstream: Any, private_postgres: PrivatePostgres, redis_server: RedisServer
) -> dict[str, Any]:
    config = limits_config(
        fake_upstream.base_url,
        private_postgres.url,
        window_s=WINDOW_S,
        redis_unavailable="allow",
        redis_timeout_s=1.0,
    )
    config["redis_url"] = redis_server.url
    return config


@pytest.fixture(scope="module")
def cluster(config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    group = Cluster(tmp_path_factory.mktemp("limits-cluster"), config)
    yield group
    group.stop()


def test_rpm_holds_across_three_instances(cluster: Cluster) -> None:
    key = cluster.key("rpm30", "--rpm", "30")
    # 25 requests to each instance: alone, each would admit all of its own.
    responses = asyncio.run(burst(cluster.urls, key, [chat_body()] * 75))
    assert statuses(responses) == [200] * 30 + [429] * 45  # one limit, not three
    ok = [r for r in responses if r.status_code == 200]
    remaining = sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in ok)
    assert remaining == [*range(30)]
    assert all(r.headers["x-ratelimit-limit-requests"] == "30" for r in responses)
    # Still within the window: every instance refuses.
    later = asyncio.run(burst(cluster.urls, key, [chat_body()] * 6))
    assert statuses(later) == [429] * 6


def test_concurrency_holds_across_instances(cluster: Cluster) -> None:
    key = cluster.key("conc3", "--max-concurrency", "3")
    slow = chat_body(model="example-slow", max_tokens=15, stream=True)  # ~0.75 s each
    responses = asyncio.run(burst(cluster.urls, key, [slow] * 12))
    assert statuses(responses) == [200] * 3 + [429] * 9
    # Every slot came back: three more at once are served.
    assert statuses(asyncio.run(burst(cluster.urls, key, [slow] * 3))) == [200] * 3


def test_tpm_holds_across_instances(cluster: Cluster) -> None:
    key = cluster.key("tpm", "--tpm", "300")
    responses = asyncio.run(burst(cluster.urls, key, [chat_body(max_tokens=5)] * 30))
    assert statuses(responses).count(429) > 0
    served = sum(r.json()["usage"]["total_tokens"] for r in responses if r.status_code == 200)
    # Each is admitted at its estimate (~46 tokens) and corrected to the 15 it used, so
    # one at a time fills the window up to within one estimate of the limit, never past.
    for i in range(30):
        url = cluster.urls[i % 3]
        r = httpx.post(url + CHAT, json=chat_body(max_tokens=5), headers=auth(key), timeout=30)
        if r.status_code != 200:
            break
        served += r.json()["usage"]["total_tokens"]
    assert r.status_code == 429
    assert 300 - 46 < served <= 300
    assert r.headers["x-ratelimit-remaining-tokens"] == str(300 - served)


def _hold_of(cluster: Cluster, body: dict[str, Any]) -> int:
    broke = cluster.key("broke", "--balance-usd", "0")
    r = httpx.post(cluster.urls[0] + CHAT, json=body, headers=auth(broke), timeout=30)
    assert r.status_code == 402, r.text
    match = re.search(r"may cost up to (\d+) nano-USD", r.json()["error"]["message"])
    assert match, r.text
    return int(match.group(1))


def test_a_50_request_balance_is_never_overspent_across_instances(cluster: Cluster) -> None:
    body = chat_body(max_tokens=5)
    hold = _hold_of(cluster, body)
    start = 50 * hold
    key = cluster.key("fifty", "--balance-usd", str(Decimal(start) / 10**9))
    responses = asyncio.run(burst(cluster.urls, key, [body] * 300))
    # Each is held at its most possible cost and settled at its real (lower) cost, so at
    # least 50 are served, and the rest refused for credits, never served unpaid.
    codes = statuses(responses)
    assert set(codes) == {200, 402} and codes.count(200) >= 50, codes
    ids = [r.headers["inference-id"] for r in responses if r.status_code == 200]
    admin = cluster.key("admin", "--admin")
    costs = httpx.post(
        cluster.urls[1] + "/v1/billing/requests",
        json={"requestIds": ids},
        headers=auth(admin),
        timeout=30,
    ).json()["requests"]
    spent = sum(c["costNanoUsd"] for c in costs)
    balance = httpx.get(cluster.urls[2] + "/v1/billing/balance", headers=auth(key)).json()
    assert len(costs) == len(ids) and all(c["costNanoUsd"] > 0 for c in costs)
    assert 0 < spent <= start
    assert balance["balance_nano_usd"] == start - spent >= 0


def test_kill_minus_nine_of_one_instance_loses_no_usage_record(
    cluster: Cluster, config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    doomed = Gateway(tmp_path_factory.mktemp("doomed"), config)
    urls = [*cluster.urls[:2], doomed.url]
    key = cluster.key("kill9", "--rpm", "100000")
    complete: list[str] = []

    async def load() -> None:
        gate = asyncio.Semaphore(24)

        async def one(client: httpx.AsyncClient, i: int) -> None:
            async with gate:
                try:
                    r = await client.post(urls[i % 3] + CHAT, json=chat_body(), headers=auth(key))
                    answer: Any = r.json()
                except (httpx.HTTPError, ValueError):
                    return  # cut off by the kill
                if r.status_code == 200 and answer.get("choices"):
                    complete.append(r.headers["inference-id"])
                    if len(complete) == 60:
                        doomed.proc.kill()

        async with httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(*(one(client, i) for i in range(240)))

    try:
        asyncio.run(load())
        assert doomed.proc.wait(10) == -9
    finally:
        doomed.stop()
    assert len(complete) >= 150  # the two others kept serving
    # Records it had answered but not yet drained into PostgreSQL wait in its spool; the
    # next gateway started on its directory drains them before serving (docs/SCALING.md).
    Gateway(doomed.workdir, config).stop()
    admin = cluster.key("admin9", "--admin")
    costs = httpx.post(
        cluster.urls[0] + "/v1/billing/requests",
        json={"requestIds": complete},
        headers=auth(admin),
        timeout=30,
    ).json()["requests"]
    assert len(costs) == len(complete) and all(c["costNanoUsd"] > 0 for c in costs)


def test_revocation_and_billing_answers_agree_across_instances(cluster: Cluster) -> None:
    key = cluster.key("revoked-soon")
    responses = asyncio.run(burst(cluster.urls, key, [chat_body()] * 6))
    assert statuses(responses) == [200] * 6
    admin = cluster.key("admin-billing", "--admin")
    ids = {"requestIds": [r.headers["inference-id"] for r in responses]}
    answers = [
        httpx.post(url + "/v1/billing/requests", json=ids, headers=auth(admin)).json()
        for url in cluster.urls
    ]
    assert answers[0] == answers[1] == answers[2] and len(answers[0]["requests"]) == 6
    cluster.gateways[0].cli("keys", "revoke", key)
    time.sleep(cluster.config["auth_cache_ttl_s"] + 0.2)
    after = asyncio.run(burst(cluster.urls, key, [chat_body()] * 6))
    assert statuses(after) == [401] * 6  # every instance, within auth_cache_ttl_s


def test_workers_of_one_server_share_the_limits(
    fake_upstream: Any, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("limits-workers")
    config = limits_config(fake_upstream.base_url, f"sqlite:///{workdir}/gw.db")
    config["redis_url"] = redis_server.url
    gw = Gateway(workdir, config, workers=2)
    # This server's database numbers its keys from 1 again: counters other tests left in
    # the shared Redis under the same key ids would count against this key.
    subprocess.run(
        ["redis-cli", "-p", str(redis_server.port), "FLUSHALL"], check=True, capture_output=True
    )
    try:
        key = gw.create_key("workers", "--rpm", "12")
        responses = asyncio.run(burst([gw.url], key, [chat_body()] * 36))
        assert statuses(responses) == [200] * 12 + [429] * 24  # not 24: one limit, not two
    finally:
        gw.stop()


def _allowed(url: str) -> float:
    text = httpx.get(url + "/metrics").text
    found = re.search(r'gatewayz_rate_limiter_unavailable_total\{outcome="allowed"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


def test_redis_stopped_then_restarted_with_allow(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    key = cluster.key("outage", "--rpm", "5")
    url = cluster.urls[0]
    before = _allowed(url)
    redis_server.stop()
    try:
        started = time.monotonic()
        down = asyncio.run(burst([url], key, [chat_body()] * 10))
        assert statuses(down) == [200] * 10  # allowed: served, not limited, never a 500
        assert time.monotonic() - started < 5
        assert _allowed(url) >= before + 10
        assert "rate limits unavailable" in cluster.gateways[0].log.read_text()
    finally:
        redis_server.start()
    deadline = time.monotonic() + 5
    while True:  # back by itself, without restarting the gateways
        r = httpx.post(url + CHAT, json=chat_body(), headers=auth(key), timeout=30)
        if "x-ratelimit-limit-requests" in r.headers:
            break
        assert time.monotonic() < deadline, "limits did not come back after Redis returned"
        time.sleep(0.2)
    again = asyncio.run(burst(cluster.urls, key, [chat_body()] * 10))
    assert statuses(again) == [200] * 4 + [429] * 6  # one of the 5 was taken just above


def test_redis_paused_with_deny_answers_503_quickly_and_recovers(
    config: dict[str, Any], redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    strict = {**config, "limits": {**config["limits"], "redis_unavailable": "deny"}}
    gw = Gateway(tmp_path_factory.mktemp("deny"), strict)
    try:
        key = gw.create_key("paused", "--rpm", "1000")
        assert httpx.post(gw.url + CHAT, json=chat_body(), headers=auth(key)).status_code == 200
        redis_server.pause()
        try:
            started = time.monotonic()
            down = asyncio.run(burst([gw.url], key, [chat_body()] * 10))
            assert time.monotonic() - started < 4  # no hang: a 1 s timeout
            assert statuses(down) == [503] * 10
            error = down[0].json()["error"]
            assert error["code"] == "rate_limits_unavailable"
            assert error["request_id"] == down[0].headers["inference-id"]
            assert down[0].headers["retry-after"] == "1"
        finally:
            redis_server.resume()
        deadline = time.monotonic() + 5
        while httpx.post(gw.url + CHAT, json=chat_body(), headers=auth(key)).status_code != 200:
            assert time.monotonic() < deadline, "did not recover after Redis resumed"
            time.sleep(0.2)
    finally:
        gw.stop()
