"""PostgreSQL restarted under load: requests during the outage get a clear 503 (never a
500, never served unbilled), every answered request keeps its usage record, and service
resumes without restarting the gateways."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.limits.conftest import CHAT, PrivatePostgres, auth, chat_body, limits_config
from tests.servers import Gateway

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def gateways(
    fake_upstream: Any,
    private_postgres: PrivatePostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[Gateway]]:
    config = limits_config(fake_upstream.base_url, private_postgres.url)
    config["auth_cache_ttl_s"] = 1
    started = [Gateway(tmp_path_factory.mktemp(f"pg-restart-{i}"), config) for i in range(2)]
    yield started
    for gw in started:
        gw.stop()


def test_postgres_restarted_under_load(
    gateways: list[Gateway], private_postgres: PrivatePostgres
) -> None:
    metered = gateways[0].create_key("metered", "--balance-usd", "10")
    plain = gateways[0].create_key("plain")
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def load(key: str, url: str) -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                answers.append(client.post(url + CHAT, json=chat_body(), headers=auth(key)))
                time.sleep(0.02)

    threads = [
        threading.Thread(target=load, args=(key, gw.url))
        for key in (metered, plain)
        for gw in gateways
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        private_postgres.halt()
        time.sleep(3)  # the auth cache (1 s) expires: every kind of request meets the outage
        during = len(answers)
        private_postgres.start()
        deadline = time.monotonic() + 20
        while not all(r.status_code == 200 for r in answers[-8:]) or len(answers) < during + 8:
            assert time.monotonic() < deadline, "service did not resume by itself"
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    codes = {r.status_code for r in answers}
    assert codes == {200, 503}, codes  # never a 500
    # Requests that meet the outage are refused before any work (database_unavailable); one
    # in flight when it began was answered by its upstream but its usage record could not be
    # written, so it is refused too (ledger_unavailable) rather than served unbilled.
    refused = [r for r in answers if r.status_code == 503]
    codes_503 = {r.json()["error"]["code"] for r in refused}
    assert "database_unavailable" in codes_503, codes_503
    assert codes_503 <= {"database_unavailable", "ledger_unavailable"}, codes_503
    for r in refused:
        assert r.json()["error"]["request_id"] == r.headers["inference-id"]
        assert r.headers["retry-after"] == "1"
    # Every answered request has its usage record, on whichever instance it was served.
    # (An instance's lookup waits for its own spool to reach PostgreSQL: asking each
    # instance once makes sure both spools are drained before the count.)
    served = [r.headers["inference-id"] for r in answers if r.status_code == 200]
    admin = gateways[0].create_key("admin", "--admin")
    for gw in [*gateways, gateways[1]]:
        found = httpx.post(
            gw.url + "/v1/billing/requests",
            json={"requestIds": served},
            headers=auth(admin),
            timeout=30,
        ).json()["requests"]
    assert len(found) == len(served)
