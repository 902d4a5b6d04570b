"""Without the usage journal (``usage_spool: off``), usage rows are committed on the event
loop when SQLite is free, and on the writer thread when another connection holds the
write lock: the gateway keeps answering meanwhile, and no request is answered before its
row is committed. With the journal (the default), a locked database delays no answer:
each record is in the journal before its answer, and in the database once the lock is
released, exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.checks import bearer, inference_id, loop_not_blocked
from tests.families.conftest import families_config
from tests.servers import Gateway, ToolUpstream, write_lock

CHAT = {"model": "tooly", "messages": [{"role": "user", "content": "hello there"}]}


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, tool_upstream: ToolUpstream
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("lock-gateway")
    config = {**families_config(tool_upstream, workdir / "gw.db"), "usage_spool": "off"}
    server = Gateway(workdir, config)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def journaled(
    tmp_path_factory: pytest.TempPathFactory, tool_upstream: ToolUpstream
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("lock-journal")
    server = Gateway(workdir, families_config(tool_upstream, workdir / "gw.db"))
    yield server
    server.stop()


def assert_recorded_once(gw: Gateway, answers: list[httpx.Response]) -> None:
    """Each answer has one usage row, with the counts it reported."""
    for answer in answers:
        rows = gw.rows(
            "SELECT status, input_tokens, output_tokens FROM usage_records WHERE request_id = ?",
            inference_id(answer),
        )
        usage = answer.json()["usage"]
        assert [tuple(r) for r in rows] == [
            (200, usage["prompt_tokens"], usage["completion_tokens"])
        ]


def test_a_locked_database_delays_answers_not_the_server(gateway: Gateway) -> None:
    key = gateway.create_key("locked")
    with httpx.Client(base_url=gateway.url, headers=bearer(key), timeout=30) as http:
        assert http.post("/v1/chat/completions", json=CHAT).status_code == 200  # warm
        with ThreadPoolExecutor(4) as pool, write_lock(gateway.db_path):
            pending = [pool.submit(http.post, "/v1/chat/completions", json=CHAT) for _ in range(4)]
            loop_not_blocked(http)
            # No answer before its usage row is committed, and it cannot be yet.
            assert not any(f.done() for f in pending)
        answers = [f.result(timeout=30) for f in pending]
    assert [a.status_code for a in answers] == [200] * 4
    assert_recorded_once(gateway, answers)


def test_a_locked_database_delays_no_answer_and_loses_no_record(journaled: Gateway) -> None:
    key = journaled.create_key("locked")
    with httpx.Client(base_url=journaled.url, headers=bearer(key), timeout=30) as http:
        assert http.post("/v1/chat/completions", json=CHAT).status_code == 200  # warm
        with write_lock(journaled.db_path):
            answers = [http.post("/v1/chat/completions", json=CHAT) for _ in range(4)]
            assert [a.status_code for a in answers] == [200] * 4
            # Answered, and not in the database yet: each is in the journal.
            assert not journaled.drained(timeout=0.5)
            journal = b"".join(p.read_bytes() for p in journaled.spool_dir.glob("*.jsonl"))
            assert all(inference_id(a).encode() in journal for a in answers)
    assert_recorded_once(journaled, answers)
