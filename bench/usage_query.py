"""How long the usage query takes over 1,000,000 usage rows: one key, one day.

    python bench/usage_query.py --backend sqlite
    python bench/usage_query.py --backend postgresql   # a throwaway database on 127.0.0.1

Rows are spread over ``--keys`` keys and ``--days`` days; the timed call is what
``GET /hf/tasks/billing/usage?start=..&end=..`` runs for one key: a page of 100 rows and the
totals over the whole day (target: under 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from gatewayz.db.engine import create_engine
from gatewayz.db.migrate import upgrade
from gatewayz.services.usage import UsageFilter, UsageQueries

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
COLUMNS = (
    "request_id",
    "api_key_id",
    "created_at",
    "route",
    "model",
    "task",
    "provider",
    "input_tokens",
    "output_tokens",
    "images",
    "input_chars",
    "cost_nano_usd",
    "latency_ms",
    "status",
)


def rows(count: int, keys: int, days: int) -> list[tuple[Any, ...]]:
    rng = random.Random(7)
    span = days * 86_400
    out = []
    for _ in range(count):
        inp, outp = rng.randint(1, 2000), rng.randint(1, 500)
        out.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128))),
                rng.randint(1, keys),
                EPOCH + timedelta(seconds=rng.uniform(0, span)),
                "chat_completions",
                rng.choice(("model-a", "model-b", "model-c")),
                "conversational",
                "upstream",
                inp,
                outp,
                0,
                0,
                inp * 500 + outp * 1500,
                rng.randint(5, 900),
                200,
            )
        )
    return out


def fill_sqlite(path: Path, data: list[tuple[Any, ...]], keys: int) -> None:
    """Insert ``keys`` API keys (ids 1..keys; none when 0) and the usage rows."""
    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "INSERT INTO api_keys (id, name, prefix, key_hash, is_admin, is_partner, created_at)"
            " VALUES (?, ?, ?, '', 0, 0, '2026-01-01 00:00:00.000000')",
            [(k, f"k{k}", secrets.token_hex(6)) for k in range(1, keys + 1)],
        )
        db.executemany(
            f"INSERT INTO usage_records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 14)})",
            # The text form SQLAlchemy's SQLite DateTime type writes and compares.
            [(*r[:2], r[2].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[3:]) for r in data],
        )
    db.execute("ANALYZE")
    db.close()


async def fill_postgres(url: str, data: list[tuple[Any, ...]], keys: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "api_keys",
            records=[
                (k, f"k{k}", secrets.token_hex(6), "", False, False, EPOCH)
                for k in range(1, keys + 1)
            ],
            columns=["id", "name", "prefix", "key_hash", "is_admin", "is_partner", "created_at"],
        )
        await conn.copy_records_to_table("usage_records", records=data, columns=list(COLUMNS))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def timed(url: str, keys: int, days: int, repeats: int) -> list[float]:
    engine = create_engine(url)
    queries = UsageQueries(engine)
    rng = random.Random(11)
    out = []
    try:
        for _ in range(repeats):
            day = EPOCH + timedelta(days=rng.randrange(days))
            flt = UsageFilter(
                api_key_id=rng.randint(1, keys), start=day, end=day + timedelta(days=1)
            )
            started = time.perf_counter()
            page, _ = await queries.page(flt, None, 100)
            totals = await queries.totals(flt)
            out.append((time.perf_counter() - started) * 1000)
            assert totals["requests"] >= len(page)
    finally:
        await engine.dispose()
    return out


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    name = f"gatewayz_bench_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}" if args.backend == "sqlite" else f"{PG_SERVER}/{name}"
        if args.backend == "postgresql":
            asyncio.run(_pg(f"CREATE DATABASE {name}"))
        try:
            upgrade(url)
            data = rows(args.rows, args.keys, args.days)
            started = time.perf_counter()
            if args.backend == "sqlite":
                fill_sqlite(path, data, args.keys)
            else:
                asyncio.run(fill_postgres(url, data, args.keys))
            print(
                f"{args.backend}: inserted {args.rows:,} usage rows "
                f"in {time.perf_counter() - started:.1f} s"
            )
            ms = asyncio.run(timed(url, args.keys, args.days, args.repeats))
            print(
                f"{args.backend}: usage page (100 rows) + totals for one key and one day "
                f"(~{args.rows // args.keys // args.days} rows): median "
                f"{statistics.median(ms):.1f} ms, max {max(ms):.1f} ms over {args.repeats}"
            )
        finally:
            if args.backend == "postgresql":
                asyncio.run(_pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


if __name__ == "__main__":
    main()
