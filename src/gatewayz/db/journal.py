"""The usage journal: append-only files of JSON lines per gateway process, in front of a
SQLite database.

On SQLite, a usage record of a key without credits is appended to this process's journal
(one ``write`` of a line per record, ~1-5 us, instead of a commit to the database that
touches six B-trees and writes each of their pages to the WAL, ~85 us) before its response
is sent, and inserted into the database right after by the drainer
(``services/drain.py``), in batches, on the event loop's thread when the database is free
(a drain on a thread of its own cost ~25% more CPU per row, in GIL hand-offs, and slowed
the answers it ran beside). A ``write`` that has returned
survives the process being killed (the data is in the operating system's page cache), as
a WAL commit with ``synchronous=NORMAL`` does; neither survives the machine losing power
before the page cache is written back.

The files and their lock follow the spool's scheme (``db/spool.py``): a lock file
``usage-<deployment>-<uuid>.lock`` held (``flock``) for the process's lifetime, and the
journal's segments ``usage-<deployment>-<uuid>.<n>.jsonl`` beside it. A lock that can be
taken belongs to a dead process: whoever takes it drains its segments and removes them.
Each line is a JSON array: the record's sequence number, then its values in column order.
A segment is closed after ``SEGMENT_BYTES`` and a new one begun; a closed segment is
removed once its rows are in the database, and the open one is emptied (one
``ftruncate``) whenever everything appended has been drained. Rows the database refused
are copied to ``refused-usage-<deployment>-<uuid>.jsonl`` (a name no drain claims) for an
operator.

Every call is made on the event loop's thread except ``read`` (the drain of a dead
process's journal, or of this one after an overflow of the drainer's memory queue), which
reads only whole lines, so it never needs a lock against appends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import orjson
from sqlalchemy import DateTime

from gatewayz.db.spool import Row, lock_file, spool_prefix
from gatewayz.db.tables import usage_records

log = logging.getLogger("gatewayz.journal")

SEGMENT_BYTES = 4 * 1024 * 1024
SUFFIX = ".jsonl"


class JournalFile:
    """One process's journal (its own, or a dead process's claimed by this one)."""

    def __init__(self, stem: Path, lock_fd: int, columns: Sequence[str], create: bool) -> None:
        self.path = stem.with_name(f"{stem.name}.*{SUFFIX}")  # for log lines
        self.columns = tuple(columns)
        self._stem = stem
        self._lock_fd = lock_fd
        self._times = [
            i
            for i, name in enumerate(self.columns)
            if isinstance(usage_records.c[name].type, DateTime)
        ]
        # Closed segments still holding undrained rows: (path, last sequence number).
        self._closed: list[tuple[Path, int]] = []
        self._number = 0
        self._fd: int | None = None  # the open segment (this process's journal only)
        self._size = 0
        self._last = 0  # the last sequence number written (or, claimed, read)
        self._forgotten = 0
        self._read_to_end = create  # a claimed journal: whether a read found its end
        # Where the last read stopped: (segments emptied so far, segment, offset, last
        # sequence number read); a read that does not continue from there starts over.
        self._emptied = 0
        self._cursor: tuple[int, Path | None, int, int] = (0, None, 0, 0)
        if create:
            self._open_segment()

    @classmethod
    def create(cls, directory: Path, columns: Sequence[str], deployment: str) -> JournalFile:
        """A new journal of this process's own, locked for its lifetime."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            name = f"{spool_prefix(deployment)}{uuid.uuid4().hex}"
            fd = lock_file(directory / f"{name}.lock")
            if fd is not None:
                return cls(directory / name, fd, columns, create=True)

    @classmethod
    def orphans(cls, directory: Path, columns: Sequence[str], deployment: str) -> list[JournalFile]:
        """The journals of the deployment's dead processes in ``directory``, each now
        locked by this one."""
        found: list[JournalFile] = []
        if not directory.is_dir():
            return found
        for lock in sorted(directory.glob(f"{spool_prefix(deployment)}*.lock")):
            fd = lock_file(lock)
            if fd is not None:
                found.append(cls(lock.with_suffix(""), fd, columns, create=False))
        return found

    def _segment(self, number: int) -> Path:
        return self._stem.with_name(f"{self._stem.name}.{number:06d}{SUFFIX}")

    def _segments(self) -> list[Path]:
        """The journal's segments on disk, oldest first."""
        return sorted(self._stem.parent.glob(f"{self._stem.name}.*{SUFFIX}"))

    def _open_segment(self) -> None:
        self._number += 1
        path = self._segment(self._number)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        self._size = 0

    def _encode(self, first: int, rows: list[Row]) -> bytes:
        return b"".join(orjson.dumps((first + i, *row)) + b"\n" for i, row in enumerate(rows))

    async def append(self, first: int, rows: list[Row], forget_through: int = 0) -> None:
        """Append ``rows`` with the sequence numbers ``first``, ``first + 1``, ...; the
        rows up to ``forget_through`` are in the database and may be forgotten."""
        assert self._fd is not None, "not this process's own journal"
        if forget_through:
            self._forget(forget_through)
        data = self._encode(first, rows)
        written = 0
        try:
            while written < len(data):
                done = os.write(self._fd, data[written:])
                if done == 0:
                    raise OSError("the usage journal accepted no bytes")
                written += done
        except OSError:
            if written:  # never leave half a record in front of the next one
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._size)
            raise
        self._size += len(data)
        self._last = first + len(rows) - 1
        if self._size >= SEGMENT_BYTES:
            os.close(self._fd)
            self._closed.append((self._segment(self._number), self._last))
            self._open_segment()

    def _forget(self, through: int) -> None:
        """Remove the closed segments whose rows are all in the database, and empty the
        open one if everything appended is."""
        self._forgotten = max(self._forgotten, through)
        while self._closed and self._closed[0][1] <= through:
            path, _ = self._closed.pop(0)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if self._fd is not None and self._size and through >= self._last:
            os.ftruncate(self._fd, 0)
            self._size = 0
            self._emptied += 1

    def _decode(self, line: bytes) -> tuple[int, Row]:
        seq, *values = orjson.loads(line)
        for i in self._times:
            if isinstance(values[i], str):
                values[i] = datetime.fromisoformat(values[i])
        return int(seq), tuple(values)

    def _read(self, after: int, limit: int) -> list[tuple[int, Row]]:
        segments = self._segments()
        emptied, path, offset, last = self._cursor
        if emptied == self._emptied and after == last and path in segments:
            index = segments.index(path)
        else:
            index, offset = 0, 0
        emptied = self._emptied
        found: list[tuple[int, Row]] = []
        while index < len(segments) and len(found) < limit:
            offset = self._read_segment(segments[index], offset, after, limit, found)
            if len(found) < limit:
                index, offset = index + 1, 0
        if found:
            self._last = max(self._last, found[-1][0])
        else:
            self._read_to_end = True
        at = segments[index] if index < len(segments) else None
        self._cursor = (emptied, at, offset, found[-1][0] if found else after)
        return found

    def _read_segment(
        self, segment: Path, offset: int, after: int, limit: int, found: list[tuple[int, Row]]
    ) -> int:
        """Add the rows above ``after`` from ``segment`` (from ``offset``) to ``found``,
        up to ``limit`` in all; returns the offset after the last whole line read."""
        try:
            with segment.open("rb") as f:
                f.seek(offset)
                for line in f:
                    if not line.endswith(b"\n"):
                        break  # being written, or cut short by a crash: not a record
                    offset += len(line)
                    try:
                        seq, row = self._decode(line)
                    except (ValueError, TypeError) as exc:
                        log.error("usage journal %s: unreadable line skipped (%s)", segment, exc)
                        continue
                    if seq > after:
                        found.append((seq, row))
                        if len(found) >= limit:
                            break
        except FileNotFoundError:  # forgotten meanwhile
            pass
        return offset

    async def read(self, after: int, limit: int) -> list[tuple[int, Row]]:
        """Up to ``limit`` journaled rows with a sequence number above ``after``, in order."""
        return await asyncio.to_thread(self._read, after, limit)

    def drained_now(self, through: int) -> None:
        """The rows up to ``through`` are in the database: forget them now (a segment
        removed, the open one emptied once everything is drained)."""
        self._forget(through)

    async def drained(self, through: int, refused: list[int]) -> None:
        """Forget the rows up to ``through`` (in the database); copy ``refused`` aside."""
        if refused:
            await asyncio.to_thread(self._keep_refused, set(refused))
        self._forget(through)

    def _keep_refused(self, refused: set[int]) -> None:
        lines = []
        for segment in self._segments():
            with contextlib.suppress(FileNotFoundError), segment.open("rb") as f:
                lines += [
                    line for line in f if line.endswith(b"\n") and self._seq_of(line) in refused
                ]
        target = self._stem.with_name(f"refused-{self._stem.name}{SUFFIX}")
        with target.open("ab") as out:
            out.writelines(lines)

    @staticmethod
    def _seq_of(line: bytes) -> int | None:
        head = line[1 : line.find(b",")]
        return int(head) if head.isdigit() else None

    def _undrained(self) -> bool:
        return not self._read_to_end or self._forgotten < self._last

    async def close(self, remove: bool) -> None:
        """Close the journal and release its lock; with ``remove``, delete it unless it
        still holds rows not drained: those stay for a later drain."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if remove and not self._undrained():
            for segment in self._segments():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(segment)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._stem.with_name(f"{self._stem.name}.lock"))
        os.close(self._lock_fd)  # releases the lock

    def __repr__(self) -> str:
        return f"JournalFile({str(self._stem)!r})"
