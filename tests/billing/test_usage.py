"""GET /hf/tasks/billing/usage and `gatewayz usage export`."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tests.billing.conftest import Env
from tests.servers import PYTHON


def _all_pages(env: Env, key: str, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    totals: dict[str, Any] = {}
    while True:
        extra = {"cursor": cursor} if cursor else {}
        r = env.get("/hf/tasks/billing/usage", key, **params, **extra)
        assert r.status_code == 200, r.text
        page = r.json()
        rows += page["data"]
        totals = page["totals"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows, totals


def test_own_records_paginated_with_totals(env: Env) -> None:
    key = env.gw.create_key("usage-owner")
    before = datetime.now(UTC) - timedelta(seconds=1)
    ids = [env.chat(key, words=i + 1, max_tokens=2).headers["inference-id"] for i in range(7)]
    rows, totals = _all_pages(env, key, limit=3)
    assert [r["request_id"] for r in rows] == ids  # stable order, no repeats, nothing lost
    assert totals["requests"] == 7
    assert totals["input_tokens"] == sum(range(1, 8)) == 28
    assert totals["output_tokens"] == 14
    assert totals["cost_nano_usd"] == 28 * 500 + 14 * 1500 == sum(r["cost_nano_usd"] for r in rows)
    assert totals["cost_usd"] == "0.000035000"
    # The time filter: nothing before the first request, everything after it.
    _, none = _all_pages(env, key, end=before.isoformat())
    assert none["requests"] == 0
    _, some = _all_pages(
        env, key, start=before.isoformat(), model="example-chat", task="conversational"
    )
    assert some["requests"] == 7
    _, other_model = _all_pages(env, key, model="example-slow")
    assert other_model["requests"] == 0


def test_users_see_only_their_own_and_admins_any(env: Env) -> None:
    mine = env.gw.create_key("usage-a")
    rid = env.chat(mine).headers["inference-id"]
    r = env.get("/hf/tasks/billing/usage", env.user, api_key_id=999_999)
    assert r.status_code == 403
    rows, _ = _all_pages(env, env.user)
    assert rid not in {row["request_id"] for row in rows}
    key_id = _all_pages(env, mine)[0][0]["api_key_id"]
    admin_rows, totals = _all_pages(env, env.admin, api_key_id=key_id)
    assert [row["request_id"] for row in admin_rows] == [rid] and totals["requests"] == 1


def test_bad_parameters_are_400(env: Env) -> None:
    for params in ({"limit": 0}, {"limit": 1001}, {"start": "yesterday"}, {"cursor": "!!"}):
        r = env.get("/hf/tasks/billing/usage", env.user, **params)
        assert r.status_code == 400, params
        assert isinstance(r.json()["error"], str)


def _export(env: Env, *args: str) -> str:
    config = env.gw.config_args
    out = subprocess.run(
        [PYTHON, "-m", "gatewayz", *config, "usage", "export", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=env.gw.workdir,
    )
    return out.stdout


def test_export_csv_and_jsonl(env: Env) -> None:
    key = env.gw.create_key("export-me")
    ids = [env.chat(key, words=2, max_tokens=3).headers["inference-id"] for _ in range(3)]
    key_id = _all_pages(env, key)[0][0]["api_key_id"]
    rows = list(
        csv.DictReader(io.StringIO(_export(env, "--format", "csv", "--api-key-id", str(key_id))))
    )
    assert [r["request_id"] for r in rows] == ids
    assert {r["cost_nano_usd"] for r in rows} == {str(2 * 500 + 3 * 1500)}
    lines = _export(
        env,
        "--format",
        "jsonl",
        "--api-key-id",
        str(key_id),
        "--model",
        "example-chat",
        "--task",
        "conversational",
    ).splitlines()
    assert [orjson.loads(line)["request_id"] for line in lines] == ids
    target = env.gw.workdir / "export.jsonl"
    _export(
        env,
        "--format",
        "jsonl",
        "--api-key-id",
        str(key_id),
        "--output",
        str(target),
        "--start",
        "2000-01-01T00:00:00Z",
    )
    assert target.read_text().splitlines() == lines
    assert (
        _export(env, "--format", "jsonl", "--api-key-id", str(key_id), "--end", "2000-01-01") == ""
    )
