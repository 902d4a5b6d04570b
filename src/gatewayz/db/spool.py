"""The local usage spool: a SQLite file per gateway process, in front of PostgreSQL.

On PostgreSQL, a usage record of a key without credits is committed to this file (one
local commit, ~20 us, no network round trip) before its response is sent, and copied into
PostgreSQL right after by the drainer (``services/drain.py``). The file is in WAL mode
with ``synchronous=NORMAL``: a commit survives the process being killed (it is in the
operating system's page cache), not the machine losing power before the page cache is
written back; docs/SCALING.md says what that changes.

Files are found by name in the spool directory: ``usage-<deployment>-<uuid>.db``, each
with a lock file ``usage-<deployment>-<uuid>.lock`` that its process holds (``flock``) for
as long as it lives. The deployment's id (one per database, ``services/deployment.py``)
in the name keeps a file from being drained into another database by a process
configured with another ``database_url`` on the same directory.
A lock that can be taken belongs to a dead process: whoever takes it drains the file into
PostgreSQL and removes it. Two live processes never drain the same file: the lock is
exclusive, and a lock file is checked to still be the one at its path after taking it (a
file removed meanwhile is not claimed).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String

from gatewayz.db.tables import usage_records
from gatewayz.db.usage_writer import WAL_RESTART_PAGES, Checkpointer

Row = tuple[Any, ...]

PREFIX = "usage-"
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    # Checkpoints (each with a disk flush of ~15-20 ms here) run on a thread of their own
    # (``Checkpointer``), not inside an append that answers are waiting for.
    f"PRAGMA wal_autocheckpoint={WAL_RESTART_PAGES}",
)
# BigInteger first: it is a subclass of Integer.
_INT_RANGE = {BigInteger: 2**63 - 1, Integer: 2**31 - 1}


def _busy(exc: sqlite3.Error) -> bool:
    """The file was locked by the other connection (nothing was written)."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


class RowRefused(ValueError):
    """A record the database would refuse (too long, out of range, a NUL character)."""


class Refusals:
    """Why the database would refuse a row (values in ``columns`` order), or None.

    A spool accepts more than the database behind it: the SQLite spool anything SQLite
    stores, the journal anything JSON holds. Checking here keeps a row the database would
    refuse out of the spool, so that it fails its request now, as a direct write would,
    instead of being answered and then refused by the drain. The limits of each column
    are read from the table once. SQLite (``sqlite=True``) enforces no length and stores
    any 64-bit integer in any integer column."""

    def __init__(self, columns: Sequence[str], sqlite: bool = False) -> None:
        self._text: list[tuple[int, str, int]] = []  # (index, name, most characters)
        self._ints: list[tuple[int, str, int]] = []  # (index, name, largest magnitude)
        for index, name in enumerate(columns):
            kind = usage_records.c[name].type
            if isinstance(kind, String) and not sqlite:
                self._text.append((index, name, kind.length or 2**30))
            limit = next((v for t, v in _INT_RANGE.items() if isinstance(kind, t)), None)
            if limit is not None:
                self._ints.append((index, name, _INT_RANGE[BigInteger] if sqlite else limit))

    def __call__(self, row: Row) -> str | None:
        for index, name, length in self._text:
            value = row[index]
            if isinstance(value, str):
                if "\x00" in value:
                    return f"{name} contains a NUL character"
                if len(value) > length:
                    return f"{name} is longer than {length} characters"
        for index, name, limit in self._ints:
            value = row[index]
            if isinstance(value, int) and not -limit - 1 <= value <= limit:
                return f"{name} is out of range"
        return None


def check_directory(directory: Path) -> str | None:
    """Why spool files cannot be made in ``directory`` (created if need be), or None."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {str(directory)!r}: {exc.strerror}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{str(directory)!r} is not writable"
    return None


def spool_prefix(deployment: str) -> str:
    return f"{PREFIX}{''.join(c for c in deployment if c.isascii() and c.isalnum())}-"


def lock_file(path: Path) -> int | None:
    """An exclusive lock on ``path`` (created if need be), or None if another process
    holds it or the file was replaced or removed while it was being taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            raise FileNotFoundError(path)
    except OSError:
        os.close(fd)
        return None
    return fd


class SpoolFile:
    """One spool file, locked by this process. Appends are committed on the event loop's
    thread when the file is free at once (a local commit, ~20 us: handing it to a thread
    cost a thread switch per record, which on a busy machine waits for the GIL and the
    scheduler, ~5 ms at times), else on the file's own thread, which waits for the lock
    and makes every other SQLite call."""

    def __init__(self, path: Path, lock_fd: int, columns: Sequence[str], create: bool) -> None:
        self.path = path
        self.columns = tuple(columns)
        self._lock_fd = lock_fd
        self._create = create
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-spool")
        self._conn: sqlite3.Connection | None = None  # the thread's
        self._inline: sqlite3.Connection | None = None  # the event loop's
        self._checkpointer: Checkpointer | None = None
        names = ", ".join(self.columns)
        self._insert = (
            f"INSERT INTO spool (seq, {names}) VALUES (?, {', '.join('?' for _ in self.columns)})"
        )
        self._select = f"SELECT seq, {names} FROM spool WHERE seq > ? ORDER BY seq LIMIT ?"
        # Times are kept as ISO 8601 text (with their offset) and read back as datetimes.
        self._times = [
            i
            for i, name in enumerate(self.columns)
            if isinstance(usage_records.c[name].type, DateTime)
        ]

    @classmethod
    def create(cls, directory: Path, columns: Sequence[str], deployment: str) -> SpoolFile:
        """A new file of this process's own, locked for its lifetime."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            name = f"{spool_prefix(deployment)}{uuid.uuid4().hex}"
            fd = lock_file(directory / f"{name}.lock")
            if fd is not None:
                return cls(directory / f"{name}.db", fd, columns, create=True)

    @classmethod
    def orphans(cls, directory: Path, columns: Sequence[str], deployment: str) -> list[SpoolFile]:
        """The files of the deployment's dead processes in ``directory``, each now locked
        by this one."""
        found: list[SpoolFile] = []
        if not directory.is_dir():
            return found
        for lock in sorted(directory.glob(f"{spool_prefix(deployment)}*.lock")):
            fd = lock_file(lock)
            if fd is not None:
                found.append(cls(lock.with_suffix(".db"), fd, columns, create=False))
        return found

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _db(self) -> sqlite3.Connection:
        """Runs on the spool thread only."""
        if self._conn is None:
            if not self._create and not self.path.exists():
                raise FileNotFoundError(self.path)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            for pragma in PRAGMAS:
                conn.execute(pragma)
            types = ", ".join(self.columns)
            conn.execute(f"CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY, {types})")
            # Rows PostgreSQL refused while draining: kept for an operator, never dropped.
            conn.execute(f"CREATE TABLE IF NOT EXISTS refused (seq INTEGER PRIMARY KEY, {types})")
            if "request_id" in self.columns:  # a repeated id is refused, as PostgreSQL would
                conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS spool_id ON spool (request_id)")
            self._conn = conn
            self._checkpointer = Checkpointer(str(self.path))
        return self._conn

    def _append(self, first: int, rows: list[Row], forget_through: int) -> None:
        self._append_on(self._db(), first, rows, forget_through)

    def _append_on(
        self, conn: sqlite3.Connection, first: int, rows: list[Row], forget_through: int
    ) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if forget_through:
                conn.execute("DELETE FROM spool WHERE seq <= ?", (forget_through,))
            conn.executemany(
                self._insert, [(first + i, *self._encode(row)) for i, row in enumerate(rows)]
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    async def append(self, first: int, rows: list[Row], forget_through: int = 0) -> None:
        """Commit ``rows`` with the sequence numbers ``first``, ``first + 1``, ..., and in
        the same transaction forget the rows up to ``forget_through`` (drained meanwhile:
        one commit instead of two)."""
        if self._conn is not None:  # the thread has made the file and its tables
            try:
                if self._inline is None:
                    self._inline = self._connect_inline()
                self._append_on(self._inline, first, rows, forget_through)
                return
            except sqlite3.Error as exc:
                if not _busy(exc):
                    raise
        # Locked (the thread is forgetting drained rows): wait for it there, not here.
        await self._call(self._append, first, rows, forget_through)

    def _connect_inline(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        for pragma in PRAGMAS:
            conn.execute(pragma)
        # Never waits for the lock, and never checkpoints (an fsync) on the event loop.
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    def _encode(self, row: Row) -> Row:
        if not self._times:
            return row
        values = list(row)
        for i in self._times:
            if isinstance(values[i], datetime):
                values[i] = values[i].isoformat()
        return tuple(values)

    def _decode(self, row: Row) -> Row:
        values = list(row)
        for i in self._times:
            if isinstance(values[i], str):
                values[i] = datetime.fromisoformat(values[i])
        return tuple(values)

    def _read(self, after: int, limit: int) -> list[tuple[int, Row]]:
        found = self._db().execute(self._select, (after, limit)).fetchall()
        return [(int(r[0]), self._decode(tuple(r[1:]))) for r in found]

    async def read(self, after: int, limit: int) -> list[tuple[int, Row]]:
        """Up to ``limit`` spooled rows with a sequence number above ``after``, in order."""
        result: list[tuple[int, Row]] = await self._call(self._read, after, limit)
        return result

    def _last(self) -> int:
        value = self._db().execute("SELECT max(seq) FROM spool").fetchone()[0]
        return int(value or 0)

    async def last(self) -> int:
        result: int = await self._call(self._last)
        return result

    def _drained(self, through: int, refused: list[int]) -> None:
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if refused:
                marks = ", ".join("?" for _ in refused)
                conn.execute(
                    f"INSERT INTO refused SELECT * FROM spool WHERE seq IN ({marks})", refused
                )
            conn.execute("DELETE FROM spool WHERE seq <= ?", (through,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def drained_now(self, through: int) -> None:
        """The rows up to ``through`` are in the database: forgotten with the next append
        (a commit of its own here would cost as much as an append)."""

    async def drained(self, through: int, refused: list[int]) -> None:
        """Forget the rows up to ``through`` (committed in PostgreSQL); keep ``refused``."""
        await self._call(self._drained, through, refused)

    def _reachable(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchall()
        except (sqlite3.Error, OSError):
            return False
        return True

    async def reachable(self) -> bool:
        result: bool = await self._call(self._reachable)
        return result

    def _has_refused(self) -> bool:
        return bool(self._db().execute("SELECT count(*) FROM refused").fetchone()[0])

    def _close(self, remove: bool) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        undrained = refused = False
        if self._conn is not None or self.path.exists():
            try:
                undrained, refused = bool(self._last()), self._has_refused()
            except sqlite3.Error:
                undrained = True  # unreadable now: left for a later drain
        if self._conn is not None:
            if refused and not undrained and remove:
                # Only rows PostgreSQL refused are left: kept under a name no drain claims.
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                os.replace(self.path, self.path.with_name(f"refused-{self.path.name}"))
            self._conn.close()
            self._conn = None
        if remove and not undrained:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path.with_suffix(".lock"))
        os.close(self._lock_fd)  # releases the lock

    async def close(self, remove: bool) -> None:
        """Close the file and release its lock; with ``remove``, delete it unless it still
        holds rows (undrained, or refused by PostgreSQL): those stay for a later drain."""
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        await self._call(self._close, remove)
        self._thread.shutdown(wait=True)
