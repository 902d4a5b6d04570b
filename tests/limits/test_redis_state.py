"""What the Redis backend leaves in Redis, and what it does when Redis loses it: every key
expires (expiries are set once per window, not on every decision), a Redis emptied under
a request in flight counts afresh (the request's late correction is not applied to the
new window), scripts flushed by hand are loaded again, and the slots of a killed
instance come back once their leases expire (the leases are read in full only when the
limit seems reached)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.limits.conftest import CHAT, RedisServer, auth, burst, chat_body, limits_config
from tests.servers import Gateway, free_port

WINDOW_S = 2.0
LEASE_S = 3.0  # renewed every second while its request runs
PREFIX = "state-test"
SLOW = {"model": "example-slow", "stream": True}


def config_for(upstream: Any, redis: RedisServer, workdir: Path) -> dict[str, Any]:
    config = limits_config(
        upstream.base_url,
        f"sqlite:///{workdir}/gw.db",
        window_s=WINDOW_S,
        lease_s=LEASE_S,
        models={"example-slow": {"max_concurrency": 2}},
    )
    return {**config, "redis_url": redis.url, "redis_prefix": PREFIX}


@pytest.fixture(scope="module")
def gw(
    fake_upstream: Any, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("redis-state")
    server = Gateway(workdir, config_for(fake_upstream, redis_server, workdir))
    yield server
    server.stop()


def redis(server: RedisServer, *command: str) -> str:
    out = subprocess.run(
        ["redis-cli", "-p", str(server.port), *command], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def key_id(gw: Gateway, name: str) -> int:
    return int(gw.rows("SELECT id FROM api_keys WHERE name = ?", name)[0]["id"])


def post(gw: Gateway, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(gw.url + CHAT, json=body, headers=auth(key), timeout=30)


def test_every_key_expires(gw: Gateway, redis_server: RedisServer) -> None:
    key = gw.create_key("expiring", "--rpm", "100", "--tpm", "100000", "--max-concurrency", "50")
    responses = asyncio.run(burst([gw.url], key, [chat_body()] * 12))
    assert [r.status_code for r in responses] == [200] * 12
    mine = f"{{{PREFIX}}}:k:{key_id(gw, 'expiring')}:*"
    names = redis(redis_server, "--scan", "--pattern", mine).split()
    # The log and its token sum (the leases in flight went with the last release).
    assert sorted(n.rsplit(":", 1)[1] for n in names) == ["log", "meta"]
    span_ms = 1000 * max(WINDOW_S, LEASE_S)
    for name in names:
        assert 0 < int(redis(redis_server, "PTTL", name)) <= 2 * span_ms, name
    deadline = time.monotonic() + 2 * max(WINDOW_S, LEASE_S) + 2
    while redis(redis_server, "--scan", "--pattern", mine):
        assert time.monotonic() < deadline, "a key outlived its window"
        time.sleep(0.2)
    # Gone, and counted afresh: the full limit is there again.
    again = post(gw, key, chat_body())
    assert again.headers["x-ratelimit-remaining-requests"] == "99"


def test_a_redis_emptied_under_a_request_counts_afresh(
    gw: Gateway, redis_server: RedisServer
) -> None:
    """The request admitted before the flush ends after it: its correction (it used fewer
    tokens than its estimate) must not be taken off the new, empty window."""
    probe = gw.create_key("probe", "--tpm", "300")
    estimate = 300 - int(post(gw, probe, chat_body()).headers["x-ratelimit-remaining-tokens"])
    key = gw.create_key("emptied", "--tpm", "300")

    async def run() -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as client:
            body = chat_body(max_tokens=20, **SLOW)
            async with client.stream("POST", gw.url + CHAT, json=body, headers=auth(key)) as r:
                assert r.status_code == 200
                lines = r.aiter_lines()
                await anext(lines)  # admitted and streaming
                redis(redis_server, "FLUSHALL")
                async for _ in lines:
                    pass
            return await client.post(gw.url + CHAT, json=chat_body(), headers=auth(key))

    after = asyncio.run(run())
    assert after.status_code == 200
    # Only this request is in the new window, at its estimate.
    assert after.headers["x-ratelimit-remaining-tokens"] == str(300 - estimate)
    used = after.json()["usage"]["total_tokens"]
    last = post(gw, key, chat_body())
    assert last.headers["x-ratelimit-remaining-tokens"] == str(300 - used - estimate)


def test_scripts_flushed_by_hand_are_loaded_again(gw: Gateway, redis_server: RedisServer) -> None:
    key = gw.create_key("script-flush", "--rpm", "5")
    assert post(gw, key, chat_body()).headers["x-ratelimit-remaining-requests"] == "4"
    redis(redis_server, "SCRIPT", "FLUSH")
    r = post(gw, key, chat_body())
    assert r.status_code == 200  # not 503: the pipe loaded the scripts again
    assert r.headers["x-ratelimit-remaining-requests"] == "3"


def test_slots_of_a_killed_instance_come_back_after_their_lease(
    gw: Gateway,
    fake_upstream: Any,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("redis-state-doomed")
    doomed = Gateway(workdir, config_for(fake_upstream, redis_server, workdir))
    try:
        doomed_key = doomed.create_key("doomed")
        key = gw.create_key("survivor")

        async def hold_both_slots_then_kill() -> None:
            body = chat_body(max_tokens=200, **SLOW)  # ~10 s each, if left alone
            headers = auth(doomed_key)
            async with httpx.AsyncClient(timeout=30) as client:
                with contextlib.suppress(httpx.HTTPError):  # the streams are cut by the kill
                    async with contextlib.AsyncExitStack() as stack:
                        # Kept: a line iterator dropped early closes its stream.
                        readers = []
                        for _ in range(2):
                            r = await stack.enter_async_context(
                                client.stream("POST", doomed.url + CHAT, json=body, headers=headers)
                            )
                            assert r.status_code == 200
                            readers.append(r.aiter_lines())
                            await anext(readers[-1])  # admitted: a slot is held
                        doomed.proc.kill()
                        doomed.proc.wait(10)

        asyncio.run(hold_both_slots_then_kill())
        killed_at = time.monotonic()
        refused = post(gw, key, chat_body(max_tokens=2, **SLOW))
        assert time.monotonic() - killed_at < LEASE_S - 1  # else this proves nothing
        assert refused.status_code == 429  # both slots are still leased to the dead instance
        assert "2 requests in flight" in refused.json()["error"]["message"]
        while True:
            r = post(gw, key, chat_body(max_tokens=2, **SLOW))
            if r.status_code == 200:
                break
            assert time.monotonic() - killed_at < LEASE_S + 3, "the slots never came back"
            time.sleep(0.1)
    finally:
        doomed.stop()


def test_tls_password_and_database_of_the_url(
    fake_upstream: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A ``rediss://`` URL with a password and a database number: the lean client does
    the TLS handshake (verifying the server's certificate), logs in and selects the
    database itself. A wrong password is Redis unavailable (503 with ``deny``)."""
    workdir = tmp_path_factory.mktemp("redis-tls")
    cert, private = workdir / "cert.pem", workdir / "key.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    openssl += ["-keyout", str(private), "-out", str(cert), "-subj", "/CN=localhost"]
    openssl += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    subprocess.run(openssl, check=True, capture_output=True)
    port = free_port()
    args = ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
    args += ["--tls-cert-file", str(cert), "--tls-key-file", str(private)]
    args += ["--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"]
    args += ["--requirepass", "s3cret", "--save", "", "--dir", str(workdir)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cli = ["redis-cli", "--tls", "--cacert", str(cert), "-p", str(port), "-a", "s3cret"]
    gateways = []
    try:
        deadline = time.monotonic() + 10
        while "PONG" not in subprocess.run([*cli, "PING"], capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, "the TLS redis-server did not start"
            time.sleep(0.1)
        config = limits_config(fake_upstream.base_url, f"sqlite:///{workdir}/gw.db")
        config = {**config, "redis_url_env": "TEST_REDIS_URL", "redis_prefix": "tls"}
        for password in ("s3cret", "wrong"):
            url = f"rediss://:{password}@127.0.0.1:{port}/3?ssl_ca_certs={cert}"
            (workdir / password).mkdir()
            gateways.append(Gateway(workdir / password, config, env={"TEST_REDIS_URL": url}))
        good, bad = gateways
        key = good.create_key("tls", "--rpm", "3")
        codes = [post(good, key, chat_body()).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        stored = subprocess.run([*cli, "-n", "3", "--scan"], capture_output=True, text=True)
        assert "{tls}:k:1:log" in stored.stdout.split()  # in database 3
        refused = post(bad, bad.create_key("tls", "--rpm", "3"), chat_body())
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "rate_limits_unavailable"
        assert "s3cret" not in refused.text and "wrong" not in refused.text
    finally:
        for gateway in gateways:
            gateway.stop()
        server.terminate()
        server.wait(10)
