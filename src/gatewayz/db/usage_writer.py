"""Writing batches of usage rows, each batch in one committed transaction.

The usage ledger hands a writer whole batches (one per group commit). For SQLite the
batch goes through one stdlib ``sqlite3`` connection owned by one dedicated thread: a
single thread hop per batch and a prepared ``executemany``, where SQLAlchemy over
aiosqlite would pay several hops (begin, execute, commit) and statement compilation.
Any other database (PostgreSQL) goes through the SQLAlchemy async engine.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.engine import SQLITE_PRAGMAS
from gatewayz.db.tables import usage_records

log = logging.getLogger("gatewayz.usage_writer")

Row = tuple[Any, ...]

CHECKPOINT_EVERY_S = 0.5
WAL_RESTART_PAGES = 16_000  # ~64 MB of WAL


class UsageWriter(ABC):
    """Commits a batch of rows (values in ``columns`` order) or raises."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)

    @abstractmethod
    async def write(self, rows: list[Row]) -> None: ...

    @abstractmethod
    async def reachable(self) -> bool:
        """Whether the database answers at all (after a failed write: was it the rows?)."""

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

    async def reachable(self) -> bool:
        try:
            async with self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # any driver failure means "no"
            return False
        return True


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
        self._checkpointer = Checkpointer(path)

    async def write(self, rows: list[Row]) -> None:
        if self._processors:
            rows = [self._convert(row) for row in rows]
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, rows)

    async def reachable(self) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._reachable)

    def _reachable(self) -> bool:
        """Runs on the writer thread only."""
        try:
            if self._conn is None:
                self._conn = self._connect()
            self._conn.execute("SELECT 1").fetchall()
        except sqlite3.Error:
            return False
        return True

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
        # The background checkpointer does the copying; this connection's own checkpoint,
        # at a large threshold, only finishes the last frames so that the WAL can restart
        # from its beginning (a PASSIVE checkpoint racing a busy writer never lets it).
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_RESTART_PAGES}")
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
        self._checkpointer.stop()


class Checkpointer:
    """Copies the WAL back into the database file from its own thread and connection.

    A checkpoint fsyncs the database file (~15-20 ms on this machine's disk). Left to
    SQLite's auto-checkpoint (every 1,000 pages) it runs inside whichever commit crosses
    the threshold, and every request waiting on that group commit waits for the fsync too:
    at one connection that was ~2% of requests taking ~19 ms. Here the server's other
    connections run with ``wal_autocheckpoint=0`` (see ``SQLITE_PRAGMAS``), this thread
    runs a PASSIVE checkpoint every ``CHECKPOINT_EVERY_S`` concurrently with the writer
    (WAL lets a checkpoint and a write proceed together), and the usage writer's own
    checkpoint comes only every ``WAL_RESTART_PAGES``, to let the WAL restart. Durability
    is unchanged: a commit is in the WAL, which survives a killed process.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        try:
            while not self._stop.wait(CHECKPOINT_EVERY_S):
                self._checkpoint(conn)
            self._checkpoint(conn)
        finally:
            conn.close()

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # busy or locked: the next tick tries again
            log.warning("WAL checkpoint failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


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
