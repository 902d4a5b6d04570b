"""Durability: SIGKILL the gateway under load; every response a client received in full
must still be priced by the billing endpoint after a restart on the same database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.billing.conftest import FakeUpstream, auth, billing_config
from tests.servers import Gateway, burst_until_killed

TOTAL, CONCURRENCY, KILL_AFTER = 200, 16, 60


BODY = {"model": "example-chat", "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}


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
    complete = burst_until_killed(gw, partner, BODY, TOTAL, KILL_AFTER, CONCURRENCY)
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
