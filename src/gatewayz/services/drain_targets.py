"""Where the usage drain (``services/drain.py``) inserts spooled rows: PostgreSQL (from
the SQLite spool, ``db/spool.py``) or the SQLite database (from the journal,
``db/journal.py``). Either skips rows already there, so a batch drained twice lands once."""

from __future__ import annotations

import asyncio
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import BigInteger, DateTime, Integer, String, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.outage import is_outage
from gatewayz.db.spool import Row
from gatewayz.db.tables import usage_records
from gatewayz.db.usage_writer import SqliteUsageWriter

# A drain that PostgreSQL has not answered within this is retried (on a new connection;
# rows it did commit are skipped the second time).
PG_TIMEOUT_S = 10.0

# The array type each column's values are sent as. Unbounded ones: PostgreSQL assigns
# them to the column as an INSERT would, so a value too long is refused, not cut.
_ARRAYS = (
    (BigInteger, "bigint"),
    (Integer, "integer"),
    (DateTime, "timestamptz"),
    (String, "text"),
)


class DrainTarget(ABC):
    """The database a drain inserts into."""

    @abstractmethod
    async def insert(self, rows: list[Row]) -> None:
        """Insert ``rows`` (values in column order) in one transaction, skipping those
        whose request id is there already; raises if nothing was committed."""

    @abstractmethod
    async def failed(self, exc: Exception) -> bool:
        """After ``insert`` raised ``exc``: whether the database did not answer (an outage:
        retry) rather than refuse the rows."""

    @abstractmethod
    async def answers(self) -> bool:
        """Whether the database answers at all."""

    async def close(self) -> None:
        """Release what the target holds."""


def _insert_sql(columns: Sequence[str]) -> str:
    """One INSERT of a whole batch: each column's values as one array parameter, the rows
    zipped back by ``unnest`` (asyncpg's ``executemany`` binds and executes each row on its
    own: ~3.5% of a gateway's CPU at 32 connections); rows already there are skipped."""
    arrays = []
    for i, name in enumerate(columns, start=1):
        kind = usage_records.c[name].type
        array = next(t for cls, t in _ARRAYS if isinstance(kind, cls))
        arrays.append(f"${i}::{array}[]")
    return (
        f"INSERT INTO {usage_records.name} ({', '.join(columns)}) "
        f"SELECT * FROM unnest({', '.join(arrays)}) ON CONFLICT (request_id) DO NOTHING"
    )


class PostgresTarget(DrainTarget):
    """PostgreSQL, on one asyncpg connection of the drain's own."""

    def __init__(self, engine: AsyncEngine, columns: Sequence[str]) -> None:
        self._engine = engine
        self._sql = _insert_sql(columns)
        self._connect_kwargs = engine.dialect.create_connect_args(engine.url)[1]
        self._pg: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def insert(self, rows: list[Row]) -> None:
        async with self._lock:  # one connection: one drain at a time
            if self._pg is None or self._pg.is_closed():
                self._pg = await asyncpg.connect(**self._connect_kwargs, timeout=PG_TIMEOUT_S)
            # One statement: one round trip, atomic.
            columns = [list(c) for c in zip(*rows, strict=True)]
            await self._pg.execute(self._sql, *columns, timeout=PG_TIMEOUT_S)

    async def failed(self, exc: Exception) -> bool:
        if not isinstance(exc, asyncpg.PostgresError) or is_outage(exc):
            await self.close()
        return is_outage(exc)

    async def answers(self) -> bool:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # any failure means "no"
            return False
        return True

    async def close(self) -> None:
        if self._pg is not None:
            self._pg.terminate()
            self._pg = None


class SqliteTarget(DrainTarget):
    """The SQLite database, through the usage ledger's own writer (on the event loop's
    thread when the database is free, else its thread, which waits for the write lock;
    and its checkpoints)."""

    def __init__(self, writer: SqliteUsageWriter) -> None:
        self._writer = writer

    async def insert(self, rows: list[Row]) -> None:
        await self._writer.insert_new(rows)

    async def failed(self, exc: Exception) -> bool:
        # Locked past the busy timeout, or the file cannot be opened: retry.
        return isinstance(exc, sqlite3.OperationalError) and not await self._writer.reachable()

    async def answers(self) -> bool:
        return await self._writer.reachable()
