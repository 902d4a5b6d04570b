"""Where limits live in Redis: deployments sharing one Redis (each with its own database)
never share counters, and a Redis Cluster holds the limits like a single Redis."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatewayz.config import ConfigError, parse_settings
from tests.limits.conftest import (
    RedisClusterServers,
    RedisServer,
    burst,
    chat_body,
    limits_config,
    statuses,
)
from tests.servers import Gateway


@pytest.fixture
def deployments(
    fake_upstream: Any, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A function starting a gateway on a database of its own and the shared Redis."""
    started: list[Gateway] = []

    def start(**extra: Any) -> Gateway:
        workdir = tmp_path_factory.mktemp("deployment")
        config = limits_config(fake_upstream.base_url, f"sqlite:///{workdir}/gw.db")
        gateway = Gateway(workdir, {**config, "redis_url": redis_server.url, **extra})
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


def _redis_keys(server: RedisServer) -> list[str]:
    out = subprocess.run(
        ["redis-cli", "-p", str(server.port), "KEYS", "*"], capture_output=True, text=True
    )
    return out.stdout.split()


def test_two_deployments_on_one_redis_do_not_share_counters(
    deployments: Any, redis_server: RedisServer
) -> None:
    first, second = deployments(), deployments()
    keys = [first.create_key("a", "--rpm", "4"), second.create_key("b", "--rpm", "4")]
    # Both databases number their first key 1: only the prefix tells the two apart.
    for gateway, key in zip((first, second), keys, strict=True):
        responses = asyncio.run(burst([gateway.url], key, [chat_body()] * 8))
        assert statuses(responses) == [200] * 4 + [429] * 4  # its own 4, not 4 between them
    tags = {k.split("}")[0] + "}" for k in _redis_keys(redis_server) if k.startswith("{gatewayz:")}
    assert len(tags) >= 2  # each deployment's keys under its own id


def test_a_shared_redis_prefix_shares_the_counters(deployments: Any) -> None:
    """Two databases told to use one prefix count as one deployment: the prefix is what
    keeps deployments apart (and the test above could fail)."""
    first = deployments(redis_prefix="team-shared")
    second = deployments(redis_prefix="team-shared")
    keys = [first.create_key("a", "--rpm", "4"), second.create_key("b", "--rpm", "4")]
    assert statuses(asyncio.run(burst([first.url], keys[0], [chat_body()] * 3))) == [200] * 3
    # Key 1 of the second database is counted in the same log as key 1 of the first.
    assert (
        statuses(asyncio.run(burst([second.url], keys[1], [chat_body()] * 3))) == [200] + [429] * 2
    )


def test_limits_hold_on_a_redis_cluster(
    fake_upstream: Any, redis_cluster: RedisClusterServers, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/gw.db"
    config = limits_config(fake_upstream.base_url, database, window_s=20.0)
    gateways = []
    try:
        # Each instance is pointed at a different node: most do not serve the slot.
        for i, port in enumerate(redis_cluster.ports):
            (tmp_path / str(i)).mkdir()
            node = {"redis_url": f"redis://127.0.0.1:{port}/0", "redis_cluster": True}
            gateways.append(Gateway(tmp_path / str(i), {**config, **node}))
        urls = [g.url for g in gateways]
        key = gateways[0].create_key("cluster", "--rpm", "12", "--max-concurrency", "50")
        responses = asyncio.run(burst(urls, key, [chat_body()] * 36))
        assert statuses(responses) == [200] * 12 + [429] * 24  # one limit, not three
        ok = [r for r in responses if r.status_code == 200]
        assert sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in ok) == [*range(12)]
        tokens = gateways[1].create_key("cluster-tpm", "--tpm", "200")
        served = 0
        for i in range(12):
            r = asyncio.run(burst([urls[i % 3]], tokens, [chat_body(max_tokens=5)]))[0]
            if r.status_code != 200:
                break
            served += r.json()["usage"]["total_tokens"]
        # Refused only once the next estimate (~50 tokens) no longer fits: every request's
        # estimate was corrected to what it used, whichever instance served it.
        assert r.status_code == 429 and 200 - 60 < served <= 200
        assert r.headers["x-ratelimit-remaining-tokens"] == str(200 - served)
        # Every key of the deployment in one hash slot, so on one node.
        holding = {port: keys for port, keys in redis_cluster.keys_by_node().items() if keys}
        assert len(holding) == 1
        assert all(k.startswith("{gatewayz:") for k in next(iter(holding.values())))
    finally:
        for gateway in gateways:
            gateway.stop()


def test_a_prefix_that_would_break_the_hash_tag_is_refused() -> None:
    for bad in ("team{a}", "two words", ""):
        with pytest.raises(ConfigError, match="redis_prefix"):
            parse_settings({"redis_prefix": bad}, {})
    assert parse_settings({"redis_prefix": "prod-eu:gw"}, {}).redis_prefix == "prod-eu:gw"
