"""Usage queries: a key's records filtered by time, model and task, in pages, with totals.

Pages are ordered by ``(created_at, request_id)`` (oldest first; the dashboard asks for
newest first) and continue from an opaque keyset cursor, so a page is an index range scan
however deep it is, and rows written meanwhile never shift or repeat a page. Times are UTC;
``start`` is inclusive, ``end`` exclusive.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.tables import usage_records
from gatewayz.errors import InvalidRequest, PermissionDenied
from gatewayz.money import nano_to_usd_string
from gatewayz.schemas.query import parse_count, parse_id
from gatewayz.services.keys import Principal

MAX_PAGE = 1_000
DEFAULT_PAGE = 100
EXPORT_BATCH = 5_000

u = usage_records.c
COLUMNS = (
    "request_id",
    "api_key_id",
    "created_at",
    "route",
    "model",
    "task",
    "provider",
    "status",
    "input_tokens",
    "output_tokens",
    "images",
    "input_chars",
    "cost_nano_usd",
    "latency_ms",
    "uncharged_nano_usd",
    "flags",
)


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Which records; ``api_key_id=None`` means every key (admins only)."""

    api_key_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    model: str | None = None
    task: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.api_key_id is not None:
            clauses.append(u.api_key_id == self.api_key_id)
        if self.start is not None:
            clauses.append(u.created_at >= self.start)
        if self.end is not None:
            clauses.append(u.created_at < self.end)
        if self.model is not None:
            clauses.append(u.model == self.model)
        if self.task is not None:
            clauses.append(u.task == self.task)
        return clauses


def parse_time(name: str, text: str | None) -> datetime | None:
    """An ISO 8601 time as aware UTC; a time without an offset is taken as UTC."""
    if text is None or text == "":
        return None
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        raise InvalidRequest(f"{name}: {text[:40]!r} is not an ISO 8601 time") from None
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is in the year 10000 in UTC
        raise InvalidRequest(f"{name}: {text[:40]!r} is outside the years 1 to 9999") from None


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; the gateway only ever writes UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def filter_for(principal: Principal, query: Mapping[str, str]) -> UsageFilter:
    """The filter a caller may use: their own key, or (admins) any key or all keys."""
    key_id: int | None = principal.key_id
    asked = query.get("api_key_id")
    if asked:
        key_id = parse_id("api_key_id", asked)
        if key_id != principal.key_id and not principal.is_admin:
            raise PermissionDenied("only admin keys may read another key's usage")
    elif principal.is_admin:
        key_id = None
    return UsageFilter(
        api_key_id=key_id,
        start=parse_time("start", query.get("start")),
        end=parse_time("end", query.get("end")),
        model=query.get("model") or None,
        task=query.get("task") or None,
    )


def page_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_PAGE
    return parse_count("limit", text, 1, MAX_PAGE)


def encode_cursor(created_at: datetime, request_id: str) -> str:
    raw = orjson.dumps([_utc(created_at).isoformat(), request_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, request_id = orjson.loads(raw)
        after = _utc(datetime.fromisoformat(when)), str(request_id)
    except (binascii.Error, ValueError, TypeError, OverflowError, orjson.JSONDecodeError):
        raise InvalidRequest("cursor is not one this API returned") from None
    if "\x00" in after[1]:  # PostgreSQL text cannot hold it; no request id has one
        raise InvalidRequest("cursor is not one this API returned")
    return after


def row_dict(row: Any) -> dict[str, Any]:
    out = {name: getattr(row, name) for name in COLUMNS}
    out["created_at"] = _utc(row.created_at).isoformat().replace("+00:00", "Z")
    out["cost_usd"] = nano_to_usd_string(row.cost_nano_usd)
    return out


def show_providers(rows: list[dict[str, Any]], shown: Callable[[str, str], str]) -> None:
    """Each row's ``provider`` as the caller sees it (``shown(model id, provider)``): a
    non-admin caller sees private providers by their public alias, as in the
    ``x-gatewayz-route`` header; the stored records keep the real name."""
    for row in rows:
        row["provider"] = shown(row["model"], row["provider"])


def _after(cursor: tuple[datetime, str], newest_first: bool = False) -> ColumnElement[bool]:
    """The records that follow ``cursor`` in the page order."""
    when, request_id = cursor
    if newest_first:
        return or_(u.created_at < when, and_(u.created_at == when, u.request_id < request_id))
    return or_(u.created_at > when, and_(u.created_at == when, u.request_id > request_id))


async def _nothing_to_flush() -> None:
    return None


class UsageQueries:
    """``flush`` is awaited before each read: it waits for this process's spooled records
    to reach the database (``UsageLedger.flush``), so a caller sees its own requests."""

    def __init__(
        self, engine: AsyncEngine, flush: Callable[[], Awaitable[None]] = _nothing_to_flush
    ) -> None:
        self._engine = engine
        self._flush = flush

    def _select(
        self, flt: UsageFilter, after: tuple[datetime, str] | None, newest_first: bool = False
    ) -> Select[Any]:
        clauses = flt.where()
        if after is not None:
            clauses.append(_after(after, newest_first))
        columns = [usage_records.c[name] for name in COLUMNS]
        order = (
            (u.created_at.desc(), u.request_id.desc())
            if newest_first
            else (u.created_at, u.request_id)
        )
        return select(*columns).where(*clauses).order_by(*order)

    async def page(
        self, flt: UsageFilter, cursor: str | None, limit: int, *, newest_first: bool = False
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of records and the cursor of the next (None on the last page); oldest
        first unless ``newest_first``."""
        after = decode_cursor(cursor) if cursor else None
        await self._flush()
        query = self._select(flt, after, newest_first).limit(limit + 1)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        following = encode_cursor(rows[-1].created_at, rows[-1].request_id) if more else None
        return [row_dict(r) for r in rows], following

    async def totals(self, flt: UsageFilter) -> dict[str, Any]:
        """Count, tokens and cost over the whole filtered range (not just one page)."""
        query = select(
            func.count(),
            func.coalesce(func.sum(u.input_tokens), 0),
            func.coalesce(func.sum(u.output_tokens), 0),
            func.coalesce(func.sum(u.images), 0),
            func.coalesce(func.sum(u.input_chars), 0),
            func.coalesce(func.sum(u.cost_nano_usd), 0),
        ).where(*flt.where())
        await self._flush()
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one()
        count, inp, out, images, chars, cost = (int(v) for v in row)
        return {
            "requests": count,
            "input_tokens": inp,
            "output_tokens": out,
            "images": images,
            "input_chars": chars,
            "cost_nano_usd": cost,
            "cost_usd": nano_to_usd_string(cost),
        }

    async def rows(self, flt: UsageFilter) -> AsyncIterator[dict[str, Any]]:
        """Every matching record, in order, fetched in bounded batches (for exports)."""
        after: tuple[datetime, str] | None = None
        await self._flush()
        while True:
            async with self._engine.connect() as conn:
                batch = (await conn.execute(self._select(flt, after).limit(EXPORT_BATCH))).all()
            for row in batch:
                yield row_dict(row)
            if len(batch) < EXPORT_BATCH:
                return
            after = (_utc(batch[-1].created_at), batch[-1].request_id)
