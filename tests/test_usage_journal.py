"""The usage journal on SQLite (docs/SCALING.md): a record of a key without credits is
appended to the process's journal before its answer and drained into the database right
after. A kill -9 mid-burst loses no record of an answered request and duplicates none
(the next process on the directory drains what the dead one left, a torn last line
included, before it serves); a clean stop leaves no journal behind; a billing lookup
right after an answer sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.checks import bearer
from tests.families.conftest import families_config
from tests.servers import Gateway, ToolUpstream, burst_until_killed

CHAT = {"model": "tooly", "messages": [{"role": "user", "content": "hello there"}]}


def config(upstream: ToolUpstream, workdir: Path) -> dict[str, Any]:
    return families_config(upstream, workdir / "gw.db")


def counts(gw: Gateway, ids: list[str]) -> tuple[int, int]:
    """(rows, distinct request ids) in the database among ``ids``."""
    marks = ", ".join("?" for _ in ids)
    (row,) = gw.rows(
        f"SELECT count(*), count(DISTINCT request_id) FROM usage_records "
        f"WHERE request_id IN ({marks})",
        *ids,
    )
    return int(row[0]), int(row[1])


def test_kill_minus_nine_mid_burst_loses_no_record_and_duplicates_none(
    tool_upstream: ToolUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("journal-kill9")
    doomed = Gateway(workdir, config(tool_upstream, workdir))
    key = doomed.create_key("burst")
    try:
        complete = burst_until_killed(doomed, key, CHAT, total=300, kill_after=120)
        doomed.proc.wait(10)
    finally:
        doomed.stop()
    assert len(complete) >= 120
    left = sorted(doomed.spool_dir.glob("usage-*.jsonl"))
    assert left, "the killed process left no journal"
    # A write cut short by a crash: half a line at the end, never a record.
    with left[-1].open("ab") as f:
        f.write(b'[999999999,"cut-short')

    heir = Gateway(workdir, config(tool_upstream, workdir))
    try:
        # It drained the dead journal before serving: every answered request has its
        # row, exactly once, and the dead process's files are gone.
        assert counts(heir, complete) == (len(complete), len(complete))
        assert not [p for p in left if p.exists()]
        assert (
            httpx.post(
                f"{heir.url}/v1/chat/completions", json=CHAT, headers=bearer(key), timeout=30
            ).status_code
            == 200
        )
    finally:
        heir.stop()
    # A clean stop drains everything and removes its journal and lock.
    assert not list(heir.spool_dir.glob("usage-*"))


def test_the_billing_lookup_sees_an_answer_at_once(
    tool_upstream: ToolUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("journal-billing")
    gw = Gateway(workdir, config(tool_upstream, workdir))
    try:
        key = gw.create_key("billed")
        admin = gw.create_key("admin", "--admin")
        with httpx.Client(base_url=gw.url, timeout=30) as http:
            for _ in range(5):
                answer = http.post("/v1/chat/completions", json=CHAT, headers=bearer(key))
                rid = answer.headers["inference-id"]
                found = http.post(
                    "/v1/billing/requests", json={"requestIds": [rid]}, headers=bearer(admin)
                )
                assert found.status_code == 200, found.text
                assert [e["requestId"] for e in found.json()["requests"]] == [rid]
    finally:
        gw.stop()
