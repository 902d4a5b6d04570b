"""A gateway killed between reserving credits and settling them loses nothing: the hold it
left is settled when a gateway next starts (or by the periodic sweep) - charged what the
request's usage record says, the rest returned - and exactly once."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.servers import Gateway


def _config(db: Path) -> dict[str, object]:
    return {
        "database_url": f"sqlite:///{db}",
        "providers": [{"name": "local", "kind": "local"}],
        "models": [
            {
                "id": "m",
                "hub_model_id": "o/m",
                "task": "text-classification",
                "routes": [{"provider": "local", "model": "default"}],
            }
        ],
    }


def test_holds_left_by_a_crash_are_settled_at_start(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    gateway = Gateway(tmp_path, _config(db))
    gateway.create_key("metered", "--balance-usd", "1")  # 1,000,000,000 nano-USD
    gateway.stop()

    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat(sep=" ")
    fresh = datetime.now(UTC).isoformat(sep=" ")
    conn = sqlite3.connect(db)
    (key_id,) = conn.execute("SELECT id FROM api_keys WHERE name = 'metered'").fetchone()
    # What a killed gateway leaves: balances already reduced by the holds.
    conn.execute(
        "UPDATE api_keys SET balance_nano_usd = balance_nano_usd - 700 WHERE id = ?", (key_id,)
    )
    holds = [
        ("finished-but-unsettled", 300, old),
        ("never-finished", 300, old),
        ("still-running", 100, fresh),
    ]
    conn.executemany(
        "INSERT INTO credit_holds (request_id, api_key_id, amount_nano_usd, created_at) "
        "VALUES (?, ?, ?, ?)",
        [(rid, key_id, amount, at) for rid, amount, at in holds],
    )
    conn.execute(
        "INSERT INTO usage_records (request_id, api_key_id, created_at, route, model, task, "
        "provider, input_tokens, output_tokens, images, input_chars, cost_nano_usd, "
        "latency_ms, status) VALUES ('finished-but-unsettled', ?, ?, 'r', 'm', "
        "'text-classification', 'local', 0, 0, 0, 4, 120, 5, 200)",
        (key_id, old),
    )
    conn.commit()

    restarted = Gateway(tmp_path, _config(db))
    try:
        deadline = time.monotonic() + 10
        left: list[tuple[str]] = []
        while time.monotonic() < deadline:
            left = conn.execute("SELECT request_id FROM credit_holds").fetchall()
            if left == [("still-running",)]:
                break
            time.sleep(0.1)
        assert left == [("still-running",)]
        (balance,) = conn.execute(
            "SELECT balance_nano_usd FROM api_keys WHERE id = ?", (key_id,)
        ).fetchone()
        # 1e9 - 700 held; +300-120 for the finished request, +300 for the dead one.
        assert balance == 1_000_000_000 - 700 + 180 + 300
    finally:
        restarted.stop()
        conn.close()
