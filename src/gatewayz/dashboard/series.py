"""Usage over time for the dashboard's charts: requests, errors, latency and spend per
time bucket and per model (or per key), summed by the database.

The bucket of a record is ``(epoch(created_at) - epoch(start)) // step`` computed in SQL on
both backends (SQLite's ``strftime('%s')``, PostgreSQL's ``extract(epoch)``), so a chart
over millions of records moves one row per bucket and series, not the records. Money stays
integer nano-USD and leaves as strings (JavaScript numbers cannot hold every nano amount).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.tables import api_keys, usage_records
from gatewayz.errors import InvalidRequest
from gatewayz.money import nano_to_usd_string
from gatewayz.services.usage import UsageFilter

Dimension = Literal["model", "key"]
DIMENSIONS: tuple[Dimension, ...] = ("model", "key")
# Bucket widths the charts use, smallest first; the smallest giving at most MAX_BUCKETS wins.
STEPS_S = (60, 300, 900, 3_600, 3 * 3_600, 6 * 3_600, 86_400, 7 * 86_400)
MAX_BUCKETS = 120
# Series beyond the busiest ones are summed into one named OTHER.
MAX_SERIES = 8
OTHER = "(other)"
DEFAULT_RANGE = timedelta(hours=24)
MAX_RANGE = timedelta(days=366 * 5)

u = usage_records.c


def step_for(span: timedelta) -> int:
    seconds = span.total_seconds()
    return next((s for s in STEPS_S if seconds / s <= MAX_BUCKETS), STEPS_S[-1])


def _epoch(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return cast(func.strftime("%s", u.created_at), BigInteger)
    return cast(func.floor(func.extract("epoch", u.created_at)), BigInteger)


@dataclass
class Series:
    name: str
    api_key_id: int | None
    requests: list[int]
    errors: list[int]
    latency_sum: list[int]
    latency_max: list[int]
    cost: list[int]
    total_requests: int = field(default=0)

    @classmethod
    def empty(cls, name: str, key_id: int | None, n: int) -> Series:
        return cls(name, key_id, [0] * n, [0] * n, [0] * n, [0] * n, [0] * n)

    def add(
        self, i: int, requests: int, errors: int, lat_sum: int, lat_max: int, cost: int
    ) -> None:
        self.requests[i] += requests
        self.errors[i] += errors
        self.latency_sum[i] += lat_sum
        self.latency_max[i] = max(self.latency_max[i], lat_max)
        self.cost[i] += cost
        self.total_requests += requests

    def json(self) -> dict[str, Any]:
        cost = sum(self.cost)
        return {
            "name": self.name,
            "api_key_id": self.api_key_id,
            "requests": self.requests,
            "errors": self.errors,
            "latency_ms_avg": [
                s // r if r else None for s, r in zip(self.latency_sum, self.requests, strict=True)
            ],
            "latency_ms_max": [
                m if r else None for m, r in zip(self.latency_max, self.requests, strict=True)
            ],
            "cost_nano_usd": [str(c) for c in self.cost],
            "totals": {
                "requests": self.total_requests,
                "errors": sum(self.errors),
                "latency_ms_avg": sum(self.latency_sum) // self.total_requests
                if self.total_requests
                else None,
                "cost_nano_usd": str(cost),
                "cost_usd": nano_to_usd_string(cost),
            },
        }


def time_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The range a chart covers: the last 24 hours unless given; ``end`` after ``start``."""
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_RANGE
    if end <= start:
        raise InvalidRequest("end must be after start")
    if end - start > MAX_RANGE:
        raise InvalidRequest("a chart covers at most five years")
    return start, end


class UsageSeries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def series(self, flt: UsageFilter, by: Dimension) -> dict[str, Any]:
        start, end = time_range(flt.start, flt.end)
        step = step_for(end - start)
        n = -(-int((end - start).total_seconds()) // step)
        origin = int(start.timestamp())
        flt = UsageFilter(flt.api_key_id, start, end, flt.model, flt.task)
        # Inline integers, not bound parameters: PostgreSQL must see the SELECT's bucket and
        # the GROUP BY's as the same expression (both are ints computed here, never input).
        index = (
            (_epoch(self._engine.dialect.name) - literal_column(str(origin)))
            // literal_column(str(step))
        ).label("i")
        dim = u.model if by == "model" else u.api_key_id
        query = (
            select(
                index,
                dim.label("d"),
                func.count().label("n"),
                func.sum(case((u.status >= 400, 1), else_=0)).label("errors"),
                func.sum(u.latency_ms).label("lat_sum"),
                func.max(u.latency_ms).label("lat_max"),
                func.sum(u.cost_nano_usd).label("cost"),
            )
            .where(*flt.where())
            .group_by(index, dim)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            names = await self._key_names(conn) if by == "key" else {}
        per: dict[Any, Series] = {}
        for row in rows:
            i = min(max(int(row.i), 0), n - 1)
            if row.d not in per:
                label = str(row.d) if by == "model" else names.get(row.d, f"id:{row.d}")
                per[row.d] = Series.empty(label, row.d if by == "key" else None, n)
            per[row.d].add(
                i, int(row.n), int(row.errors), int(row.lat_sum), int(row.lat_max), int(row.cost)
            )
        ranked = sorted(per.values(), key=lambda s: (-s.total_requests, s.name))
        shown = ranked[:MAX_SERIES]
        if len(ranked) > MAX_SERIES:
            other = Series.empty(OTHER, None, n)
            for s in ranked[MAX_SERIES:]:
                for i in range(n):
                    other.add(
                        i, s.requests[i], s.errors[i], s.latency_sum[i], s.latency_max[i], s.cost[i]
                    )
            shown.append(other)
        total = Series.empty("total", None, n)
        for s in ranked:
            for i in range(n):
                total.add(
                    i, s.requests[i], s.errors[i], s.latency_sum[i], s.latency_max[i], s.cost[i]
                )
        return {
            "start": _iso(start),
            "end": _iso(end),
            "step_s": step,
            "by": by,
            "buckets": [_iso(start + timedelta(seconds=i * step)) for i in range(n)],
            "series": [s.json() for s in shown],
            "total": total.json(),
        }

    @staticmethod
    async def _key_names(conn: Any) -> dict[int, str]:
        rows = await conn.execute(select(api_keys.c.id, api_keys.c.name))
        return {r.id: r.name for r in rows}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
