"""On PostgreSQL, usage records go to the local spool file, committed on the event loop
when the file is free and on the spool's thread when another connection holds its write
lock: the gateway keeps answering meanwhile, and no answer (streamed or not) ends before
its record is committed."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.billing.conftest import FakeUpstream, auth, billing_config
from tests.checks import inference_id, loop_not_blocked
from tests.servers import Gateway, write_lock

pytestmark = pytest.mark.postgres
CHAT = {"model": "example-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream: FakeUpstream, fresh_database: Any
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("spool-lock")
    config = billing_config(fake_upstream.base_url, fresh_database("postgresql"))
    config["usage_spool"] = str(workdir / "spool")
    server = Gateway(workdir, config)
    yield server
    server.stop()


def streamed(http: httpx.Client) -> tuple[str, list[str]]:
    with http.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as resp:
        assert resp.status_code == 200
        return inference_id(resp), [line for line in resp.iter_lines() if line]


def test_a_locked_spool_delays_answers_not_the_server(gateway: Gateway) -> None:
    key = gateway.create_key("spool-locked", "--partner")  # may look up its own records
    with httpx.Client(base_url=gateway.url, headers=auth(key), timeout=30) as http:
        assert http.post("/v1/chat/completions", json=CHAT).status_code == 200  # the file
        (spool,) = (gateway.workdir / "spool").glob("usage-*.db")
        with ThreadPoolExecutor(4) as pool, write_lock(spool):
            plain = [pool.submit(http.post, "/v1/chat/completions", json=CHAT) for _ in range(2)]
            streams = [pool.submit(streamed, http) for _ in range(2)]
            loop_not_blocked(http)
            # No answer ends (no stream's [DONE]) before its record is committed.
            assert not any(f.done() for f in plain + streams)
        answers = [f.result(timeout=30) for f in plain]
        ended = [f.result(timeout=30) for f in streams]
        assert [a.status_code for a in answers] == [200, 200]
        assert all(lines[-1] == "data: [DONE]" for _, lines in ended)
        ids = [inference_id(a) for a in answers] + [rid for rid, _ in ended]
        billed = http.post("/v1/billing/requests", json={"requestIds": ids})
    assert billed.status_code == 200, billed.text
    assert sorted(e["requestId"] for e in billed.json()["requests"]) == sorted(ids)
