"""How long the dashboard's chart query takes over many usage records.

    .venv/bin/python bench/dashboard_series.py sqlite:////tmp/series.db 200000
    .venv/bin/python bench/dashboard_series.py postgresql://postgres@127.0.0.1:5432/DB 200000

Fills an empty database (its URL) with ``N`` records spread over the last 7 days, 12 models,
one key, then times ``UsageSeries.series`` over the last day and the last 7 days.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from gatewayz.dashboard.series import DIMENSIONS, UsageSeries
from gatewayz.db.engine import create_engine
from gatewayz.db.migrate import upgrade
from gatewayz.db.tables import api_keys, usage_records
from gatewayz.services.usage import UsageFilter

BATCH = 20_000


def record(i: int, now: datetime) -> dict[str, Any]:
    return {
        "request_id": str(uuid.uuid4()),
        "api_key_id": 1,
        "created_at": now - timedelta(seconds=random.random() * 7 * 86_400),
        "route": "chat",
        "model": f"m{i % 12}",
        "task": "conversational",
        "provider": "p",
        "input_tokens": 10,
        "output_tokens": 5,
        "images": 0,
        "input_chars": 0,
        "cost_nano_usd": 1_234,
        "latency_ms": random.randint(1, 500),
        "status": 502 if i % 50 == 0 else 200,
    }


async def main(url: str, n: int) -> None:
    engine = create_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        key = {"id": 1, "name": "k", "prefix": uuid.uuid4().hex[:12], "key_hash": "x"}
        await conn.execute(
            insert(api_keys).values(**key, is_admin=False, is_partner=False, created_at=now)
        )
        for start in range(0, n, BATCH):
            rows = [record(i, now) for i in range(start, min(n, start + BATCH))]
            await conn.execute(insert(usage_records), rows)
    series = UsageSeries(engine)
    for days in (1, 7):
        flt = UsageFilter(None, now - timedelta(days=days), now, None, None)
        for by in DIMENSIONS:
            began = time.perf_counter()
            data = await series.series(flt, by)
            took = time.perf_counter() - began
            print(
                f"{engine.dialect.name}: {n} records, last {days} d per {by}: "
                f"{len(data['buckets'])} buckets x {len(data['series'])} series, "
                f"{data['total']['totals']['requests']} requests, {took * 1000:.0f} ms"
            )
    await engine.dispose()


if __name__ == "__main__":
    upgrade(sys.argv[1])
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
