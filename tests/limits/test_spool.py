"""The usage spool on PostgreSQL (docs/SCALING.md): answered requests of keys without
credits are recorded in a local file and drained into PostgreSQL exactly once, through a
kill -9, an outage of PostgreSQL, a drain run twice, and several processes sharing the
directory. PostgreSQL is the test's own cluster (it is stopped here)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from gatewayz.services.drain import FLUSH_WAIT_S, ORPHAN_SCAN_S
from tests.limits.conftest import CHAT, PrivatePostgres, auth, billing_config, chat_body
from tests.servers import PYTHON, Gateway, burst_until_killed

pytestmark = pytest.mark.postgres


def cost_of(answer: httpx.Response) -> int:
    """What an answer costs at the billing configuration's prices ($0.50 / $1.50 per
    million input / output tokens), in nano-USD."""
    usage = answer.json()["usage"]
    return int(usage["prompt_tokens"]) * 500 + int(usage["completion_tokens"]) * 1500


@pytest.fixture(scope="module")
def config(fake_upstream: Any, private_postgres: PrivatePostgres) -> dict[str, Any]:
    config = billing_config(fake_upstream.base_url, private_postgres.url)
    config["auth_cache_ttl_s"] = 600  # checked keys stay cached through the outages here
    return config


@pytest.fixture(scope="module")
def gw(config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("spool"), config)
    yield gateway
    gateway.stop()


def chat(gw: Gateway, key: str) -> httpx.Response:
    return httpx.post(gw.url + CHAT, json=chat_body(), headers=auth(key), timeout=30)


def lookup(gw: Gateway, key: str, ids: list[str], timeout: float = 30) -> httpx.Response:
    return httpx.post(
        gw.url + "/v1/billing/requests",
        json={"requestIds": ids},
        headers=auth(key),
        timeout=timeout,
    )


def priced(gw: Gateway, key: str, ids: list[str]) -> dict[str, int]:
    r = lookup(gw, key, ids)
    assert r.status_code == 200, r.text
    return {e["requestId"]: e["costNanoUsd"] for e in r.json()["requests"] or []}


def stored(pg: PrivatePostgres, ids: list[str]) -> tuple[int, int]:
    """(rows, distinct request ids) in PostgreSQL among ``ids``."""

    async def run() -> tuple[int, int]:
        conn = await asyncpg.connect(pg.url)
        try:
            row = await conn.fetchrow(
                "SELECT count(*), count(DISTINCT request_id) FROM usage_records "
                "WHERE request_id = ANY($1::text[])",
                ids,
            )
        finally:
            await conn.close()
        assert row is not None
        return int(row[0]), int(row[1])

    return asyncio.run(run())


def test_kill_minus_nine_during_an_outage_loses_nothing_and_duplicates_nothing(
    config: dict[str, Any],
    private_postgres: PrivatePostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("spool-kill9")
    doomed = Gateway(workdir, config)
    partner = doomed.create_key("hf-router", "--partner")
    first = chat(doomed, partner)  # the key is checked, and cached
    assert first.status_code == 200
    private_postgres.halt()
    try:
        complete = burst_until_killed(doomed, partner, chat_body(), total=200, kill_after=60)
    finally:
        private_postgres.start()
    assert doomed.proc.wait(10) == -9
    doomed.stop()
    assert len(complete) >= 60
    # Nothing reached PostgreSQL: every answered request's record is in the dead spool.
    assert stored(private_postgres, complete) == (0, 0)
    spool = workdir / "gatewayz-spool"
    left = sorted(spool.glob("usage-*.jsonl"))
    assert left and sum(p.stat().st_size for p in left) > 0
    # The same rows a second time, as a restored copy would bring them back: drained
    # twice, they must still be recorded once.
    twin = uuid.uuid4().hex
    for segment in left:
        name = re.sub(r"[0-9a-f]{32}(?=\.\d+\.jsonl$)", twin, segment.name)
        shutil.copyfile(segment, segment.with_name(name))
    (lock,) = spool.glob("usage-*.lock")
    lock.with_name(re.sub(r"[0-9a-f]{32}(?=\.lock$)", twin, lock.name)).touch()
    restarted = Gateway(workdir, config)  # drains what the dead process left, then serves
    try:
        costs = priced(restarted, partner, complete)
        assert set(costs) == set(complete)
        assert set(costs.values()) == {cost_of(first)}
        assert stored(private_postgres, complete) == (len(complete), len(complete))
        assert not [p for p in left if p.exists()], "a drained journal was left behind"
        assert "drained" in restarted.log.read_text()
    finally:
        restarted.stop()


def test_an_outage_serves_keys_without_credits_and_refuses_metered_ones(
    gw: Gateway, private_postgres: PrivatePostgres
) -> None:
    plain = gw.create_key("plain")
    metered = gw.create_key("metered", "--balance-usd", "1")
    admin = gw.create_key("admin", "--admin")
    for key in (plain, metered, admin):
        assert chat(gw, key).status_code == 200  # checked once: cached for the outage
    balance = httpx.get(gw.url + "/v1/billing/balance", headers=auth(metered)).json()
    private_postgres.halt()
    try:
        served = [chat(gw, plain) for _ in range(10)]
        assert [r.status_code for r in served] == [200] * 10
        refused = chat(gw, metered)  # its credits cannot be reserved
        assert refused.status_code == 503, refused.text
        error = refused.json()["error"]
        assert error["code"] == "database_unavailable"
        assert error["request_id"] == refused.headers["inference-id"]
        assert refused.headers["retry-after"] == "1"
        started = time.monotonic()
        blind = lookup(gw, admin, [served[0].headers["inference-id"]])
        assert blind.status_code == 503  # a lookup needs PostgreSQL: asked again later
        assert blind.json()["error"]["request_id"] == blind.headers["inference-id"]
        assert time.monotonic() - started < FLUSH_WAIT_S + 5
    finally:
        private_postgres.start()
    ids = [r.headers["inference-id"] for r in served]
    costs = priced(gw, admin, [*ids, refused.headers["inference-id"]])
    assert costs == dict.fromkeys(
        ids, cost_of(served[0])
    )  # each once; the refused one was never served
    after = httpx.get(gw.url + "/v1/billing/balance", headers=auth(metered)).json()
    assert after == balance


def test_the_billing_lookup_waits_for_its_own_spool(
    gw: Gateway, private_postgres: PrivatePostgres
) -> None:
    """Answers are not held up by PostgreSQL; the instance that served them waits for
    them to be drained before it answers a lookup, for at most ``FLUSH_WAIT_S``."""
    plain = gw.create_key("plain-locked")
    admin = gw.create_key("admin-locked", "--admin")
    assert chat(gw, admin).status_code == 200
    locked = threading.Event()
    release = threading.Event()

    async def hold_lock() -> None:
        # Reads go through, inserts (the drain) wait: as a PostgreSQL too slow to commit.
        conn = await asyncpg.connect(private_postgres.url)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE usage_records IN EXCLUSIVE MODE")
                locked.set()
                await asyncio.to_thread(release.wait)
        finally:
            await conn.close()

    holder = threading.Thread(target=lambda: asyncio.run(hold_lock()))
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        served = [chat(gw, plain) for _ in range(5)]
        assert [r.status_code for r in served] == [200] * 5
        assert time.monotonic() - started < 5  # not waiting for PostgreSQL
        ids = [r.headers["inference-id"] for r in served]
        assert stored(private_postgres, ids) == (0, 0)
        # Held longer than a lookup waits: it answers in bounded time, without them.
        started = time.monotonic()
        assert priced(gw, admin, ids) == {}
        waited = time.monotonic() - started
        assert FLUSH_WAIT_S - 0.1 <= waited < FLUSH_WAIT_S + 3, waited
        # Released while a lookup waits: that lookup sees every one of them.
        timer = threading.Timer(0.5, release.set)
        timer.start()
        assert priced(gw, admin, ids) == dict.fromkeys(ids, cost_of(served[0]))
    finally:
        release.set()
        holder.join(10)
    assert stored(private_postgres, ids) == (5, 5)


def test_live_processes_sharing_a_directory_never_drain_each_other(
    config: dict[str, Any],
    private_postgres: PrivatePostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("spool-workers")
    shared = {**config, "usage_spool": str(workdir / "spool")}
    gw = Gateway(workdir, shared, workers=2)
    try:
        key = gw.create_key("workers", "--partner")

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=30) as client:
                return await asyncio.gather(
                    *(
                        client.post(gw.url + CHAT, json=chat_body(), headers=auth(key))
                        for _ in range(40)
                    )
                )

        responses = asyncio.run(burst())
        assert {r.status_code for r in responses} == {200}
        time.sleep(ORPHAN_SCAN_S + 1)  # each worker has scanned the directory
        locks = sorted(p.name for p in (workdir / "spool").glob("usage-*.lock"))
        assert len(locks) == 2, locks  # one file per worker, each kept by its own
        assert "left by a stopped process" not in gw.log.read_text()
        ids = [r.headers["inference-id"] for r in responses]
        deadline = time.monotonic() + 5
        while stored(private_postgres, ids) != (40, 40):
            assert time.monotonic() < deadline, stored(private_postgres, ids)
            time.sleep(0.1)
    finally:
        gw.stop()
    # A clean stop drains and removes each worker's file.
    assert not list((workdir / "spool").glob("usage-*"))


def test_a_spool_directory_that_cannot_be_made_is_refused_at_start(
    config: dict[str, Any], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    path = tmp_path / "gatewayz.yaml"
    path.write_text(yaml.safe_dump({**config, "usage_spool": str(blocker)}))
    done = subprocess.run(
        [PYTHON, "-m", "gatewayz", "serve", "--config", str(path), "--port", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "usage_spool:" in done.stderr and "not-a-directory" in done.stderr
    assert "Traceback" not in done.stderr
