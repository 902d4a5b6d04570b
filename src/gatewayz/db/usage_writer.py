"""Writing batches of usage rows, each batch in one committed transaction.

The usage ledger hands a writer whole batches (one per group commit, or per drain of
the usage journal, ``db/journal.py``). For SQLite the
batch is a prepared ``executemany`` on a stdlib ``sqlite3`` connection, committed on the
event loop's own thread when the database is free at once (a WAL commit without fsync
takes tens of microseconds: less than handing it to a thread, which cost ~7% of the
gateway's CPU in submitting alone, plus a wake-up and GIL hand-offs per batch). When the
write lock is held (another process, or a checkpoint restarting the WAL), the loop does
not wait: the batch goes to one dedicated thread with its own connection, which waits
for the lock there. SQLAlchemy over aiosqlite would pay several hops (begin, execute,
commit) and statement compilation. Any other database (PostgreSQL) goes through the
SQLAlchemy async engine.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.engine import SQLITE_PRAGMAS
from gatewayz.db.tables import usage_records

log = logging.getLogger("gatewayz.usage_writer")

Row = tuple[Any, ...]

CHECKPOINT_EVERY_S = 0.5
WAL_RESTART_PAGES = 16_000  # ~64 MB of WAL
RESTART_WAIT_MS = 200  # how long a RESTART checkpoint waits for readers before giving up


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


# A datetime as SQLAlchemy's SQLite dialect stores it ("2026-12-07 17:42:15.123456"), by
# one C call instead of a dict and a %-format (~1% of the gateway's CPU per request).
def _sqlite_datetime(value: datetime) -> str:
    return value.isoformat(" ", "microseconds")[:26]


_SAMPLES = (
    datetime(2026, 12, 7, 17, 42, 15, 123456, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999),
)


def _faster(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``_sqlite_datetime`` where it gives what ``process`` gives, else ``process``."""
    try:
        same = all(process(d) == _sqlite_datetime(d) for d in _SAMPLES)
    except (TypeError, ValueError):  # not a datetime's processor
        same = False
    return _sqlite_datetime if same else process


def _busy(exc: sqlite3.Error) -> bool:
    """The database was locked by another connection (nothing was written)."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


class SqliteUsageWriter(UsageWriter):
    """Commits on the event loop's thread when the database is free at once, else on a
    dedicated thread that waits for the lock; each has its own ``sqlite3`` connection.

    Values are converted by the same SQLAlchemy type processors the engine uses, so rows
    read back through SQLAlchemy (e.g. ``created_at``) are indistinguishable."""

    def __init__(self, engine: AsyncEngine, path: str, columns: Sequence[str]) -> None:
        super().__init__(columns)
        self._path = path
        self._sql = (
            f"INSERT INTO {usage_records.name} ({', '.join(self.columns)}) "
            f"VALUES ({', '.join('?' for _ in self.columns)})"
        )
        # The journal's drain: a row whose request id is there already was drained before.
        self._sql_new = self._sql.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
        dialect = engine.dialect
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self.columns):
            column_type = usage_records.c[name].type
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((index, _faster(process)))
        self._processors = processors
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-writer")
        self._conn: sqlite3.Connection | None = None  # the thread's
        self._inline: sqlite3.Connection | None = None  # the event loop's
        self._checkpointer = Checkpointer(path)

    async def write(self, rows: list[Row]) -> None:
        await self._commit(rows, self._sql)

    async def insert_new(self, rows: list[Row]) -> None:
        """Commit the rows whose request id is not in the table yet (the journal's drain,
        which may find rows it drained before a crash)."""
        await self._commit(rows, self._sql_new)

    async def _commit(self, rows: list[Row], sql: str) -> None:
        if self._processors:
            rows = [self._convert(row) for row in rows]
        try:
            if self._inline is None:
                self._inline = self._connect(busy_timeout_ms=0)
            _commit(self._inline, sql, rows)
            return
        except sqlite3.Error as exc:
            if not _busy(exc):
                raise
        # Locked: wait for the lock on the writer thread, never on the event loop.
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, rows, sql)

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

    def _connect(self, busy_timeout_ms: int = 10_000) -> sqlite3.Connection:
        # Autocommit mode: the transaction is begun and committed explicitly (_commit).
        conn = sqlite3.connect(self._path, timeout=busy_timeout_ms / 1000, isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        # The event loop's connection never waits for a lock (it hands the batch over).
        conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        return conn

    def _write(self, rows: list[Row], sql: str) -> None:
        """Runs on the writer thread only."""
        if self._conn is None:
            self._conn = self._connect()
        _commit(self._conn, sql, rows)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)
        self._checkpointer.stop()


def _commit(conn: sqlite3.Connection, sql: str, rows: list[Row]) -> None:
    """``rows`` in one transaction, or none of them (the error is raised)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class Checkpointer:
    """Copies the WAL back into the database file from its own thread and connection.

    A checkpoint fsyncs the database file (~15-20 ms on this machine's disk). Left to
    SQLite's auto-checkpoint (every 1,000 pages) it runs inside whichever commit crosses
    the threshold, and every request waiting on that group commit waits for the fsync too:
    at one connection that was ~2% of requests taking ~19 ms. Here every connection of the
    server runs with ``wal_autocheckpoint=0`` (see ``SQLITE_PRAGMAS``) and this thread
    runs a PASSIVE checkpoint every ``CHECKPOINT_EVERY_S`` concurrently with the writer
    (WAL lets a checkpoint and a write proceed together). A PASSIVE checkpoint racing a
    busy writer never lets the WAL restart from its beginning, so once it holds more than
    ``WAL_RESTART_PAGES`` this thread runs a RESTART checkpoint, which holds writers off
    while it finishes: the event loop's writer then hands its batch to the writer thread
    (it never waits on the loop). Durability is unchanged: a commit is in the WAL, which
    survives a killed process.
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
            _, wal_pages, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if wal_pages > WAL_RESTART_PAGES:
                # Writers are held off while it waits for readers: not for long.
                conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
                try:
                    conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                finally:
                    conn.execute("PRAGMA busy_timeout=10000")
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
