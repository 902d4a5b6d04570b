"""Writing batches of usage rows, each batch in one committed transaction.

The usage ledger hands a writer whole batches (one per group commit). For SQLite the
batch goes through one stdlib ``sqlite3`` connection owned by one dedicated thread: a
single thread hop per batch and a prepared ``executemany``, where SQLAlchemy over
aiosqlite would pay several hops (begin, execute, commit) and statement compilation.
Any other database (PostgreSQL) goes through the SQLAlchemy async engine.
"""

from __future__ import annotations

import asyncio
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.engine import SQLITE_PRAGMAS
from gatewayz.db.tables import usage_records

Row = tuple[Any, ...]
WAL_CHECKPOINT_PAGES = 4_000


class UsageWriter(ABC):
    """Commits a batch of rows (values in ``columns`` order) or raises."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)

    @abstractmethod
    async def write(self, rows: list[Row]) -> None: ...

    async def close(self) -> None:
        """Release what the writer holds; called once, after the last write."""


class EngineUsageWriter(UsageWriter):
    """Through the SQLAlchemy async engine (PostgreSQL, or SQLite in memory)."""

    def __init__(self, engine: AsyncEngine, columns: Sequence[str]) -> None:
        super().__init__(columns)
        self._engine = engine

    async def write(self, rows: list[Row]) -> None:
        params = [dict(zip(self.columns, row, strict=True)) for row in rows]
        async with self._engine.begin() as conn:
            await conn.execute(insert(usage_records), params)


class SqliteUsageWriter(UsageWriter):
    """A dedicated thread with its own ``sqlite3`` connection to the database file.

    Values are converted by the same SQLAlchemy type processors the engine uses, so rows
    read back through SQLAlchemy (e.g. ``created_at``) are indistinguishable."""

    def __init__(self, engine: AsyncEngine, path: str, columns: Sequence[str]) -> None:
        super().__init__(columns)
        self._path = path
        self._sql = (
            f"INSERT INTO {usage_records.name} ({', '.join(self.columns)}) "
            f"VALUES ({', '.join('?' for _ in self.columns)})"
        )
        dialect = engine.dialect
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self.columns):
            column_type = usage_records.c[name].type
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((index, process))
        self._processors = processors
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-writer")
        self._conn: sqlite3.Connection | None = None

    async def write(self, rows: list[Row]) -> None:
        if self._processors:
            rows = [self._convert(row) for row in rows]
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, rows)

    def _convert(self, row: Row) -> Row:
        values = list(row)
        for index, process in self._processors:
            values[index] = process(values[index])
        return tuple(values)

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: the transaction is begun and committed explicitly below.
        conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        # A checkpoint (copy the WAL into the database, fsync both) runs inside the commit
        # that crosses the threshold and stalls every request waiting on that batch. At the
        # default of 1,000 pages that was one commit in ~50 taking ~4 ms on this disk;
        # at 4,000 pages the index pages rewritten between checkpoints are copied once,
        # so checkpoints are rarer at about the same cost each (p99 commit 4 ms -> 0.1 ms).
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        return conn

    def _write(self, rows: list[Row]) -> None:
        """Runs on the writer thread only."""
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(self._sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)


def usage_writer(engine: AsyncEngine, columns: Sequence[str]) -> UsageWriter:
    """The fastest writer for the engine's database."""
    url = engine.url
    path = url.database
    if url.get_backend_name() != "sqlite" or path is None:
        return EngineUsageWriter(engine, columns)
    in_memory = path in ("", ":memory:") or url.query.get("mode") == "memory"
    if in_memory or path.startswith("file:"):  # not a plain file another connection can open
        return EngineUsageWriter(engine, columns)
    return SqliteUsageWriter(engine, path, columns)
