"""The usage ledger: every request's usage record, written with a group commit.

Callers ``await ledger.record(rec)``; records that arrive while a transaction is being
written wait for the next one, so N concurrent requests share one commit instead of each
paying for their own. ``record`` returns only once the row is committed, so a caller that
awaits it before finishing its response never answers for a request it has not recorded.

With a spool directory (``usage_spool``), "committed" means appended to this process's
usage journal, a file of JSON lines (``db/journal.py``) that the drainer copies into the
database right after (``services/drain.py``): on PostgreSQL the answer does not wait for
a network round trip and a disk flush, on SQLite for a commit that writes a page of each
of the table's six B-trees. Records of requests holding credits (``held=True``) are
still committed to the database itself, since the credit sweep settles a dead process's
holds from the usage records it finds there.
"""

from __future__ import annotations

import asyncio
import logging
import operator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.spool import Refusals, Row, RowRefused
from gatewayz.db.usage_writer import (
    SqliteUsageWriter,
    UsageWriter,
    usage_writer,
)
from gatewayz.errors import LedgerUnavailable
from gatewayz.services.drain import SpoolDrainer
from gatewayz.services.drain_targets import DrainTarget, PostgresTarget, SqliteTarget
from gatewayz.services.in_flight import InFlight

log = logging.getLogger("gatewayz.ledger")

MAX_BATCH = 2_000
# With the journal: a record is appended at once, in a write of its own, while
# the process serves at most this many requests; in a crowd, it goes through the group
# commit's task, which appends the records of concurrent requests in one write. Measured
# in one run on this project's machine (bench/run.py's references, the bare proxy = 1):
# every record appended at once, raw p50 at one connection 1.21x, requests/s at 32
# connections 0.75x; no journal (every record committed to the database by the group
# commit), 1.50x and 0.82x; this rule, 1.14x and 0.85x.
JOURNAL_AT_MOST = 2
WRITE_ATTEMPTS = 5
RETRY_BASE_S = 0.05


@dataclass(frozen=True, slots=True)
class UsageRecord:
    request_id: str
    api_key_id: int
    created_at: datetime
    route: str
    model: str
    task: str
    provider: str
    input_tokens: int
    output_tokens: int
    images: int
    input_chars: int
    cost_nano_usd: int
    latency_ms: int
    status: int
    uncharged_nano_usd: int = 0
    flags: str = ""


_COLUMNS = tuple(f.name for f in fields(UsageRecord))
_as_row = operator.attrgetter(*_COLUMNS)


class SpoolWriter(UsageWriter):
    """Appends batches to the usage journal; if the journal itself fails (a full or
    broken disk), commits them to the database directly, as without a spool."""

    def __init__(self, drainer: SpoolDrainer, direct: UsageWriter, sqlite: bool) -> None:
        super().__init__(drainer.columns)
        self._drainer = drainer
        self._direct = direct
        self._refused = False
        self._refusal = Refusals(self.columns, sqlite=sqlite)

    async def write(self, rows: list[Row]) -> None:
        self._refused = False
        for row in rows:
            why = self._refusal(row)
            if why is not None:
                self._refused = True
                raise RowRefused(why)
        try:
            await self._drainer.append(rows)
        except OSError as exc:
            log.error("usage journal failed (%s): writing to the database directly", exc)
            await self._direct.write(rows)

    async def reachable(self) -> bool:
        return self._refused or await self._direct.reachable()


class GroupCommit:
    """One writer's queue: every record submitted while a batch is being written goes
    into the next batch."""

    def __init__(self, writer: UsageWriter) -> None:
        self._writer = writer
        self._pending: list[tuple[UsageRecord, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-ledger")

    def submit(self, record: UsageRecord) -> asyncio.Future[None]:
        """Queue a record; the future resolves when it is committed. Never blocks, so it
        is safe to call from a ``finally`` of a cancelled stream."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, future))
        self._wake.set()
        return future

    async def close(self) -> None:
        """Write everything still queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self._writer.close()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._write(batch)
            if self._closing:
                return

    async def _write(self, batch: list[tuple[UsageRecord, asyncio.Future[None]]]) -> None:
        """Commit ``batch``. A write that fails while the database answers was refused for
        its values (out of range, a duplicate id, a character the database cannot
        store): the batch is split until the bad row is alone, so one bad record never
        fails the others, and that row is not retried. A write that fails because the
        database does not answer is retried whole, with backoff."""
        rows = [_as_row(rec) for rec, _ in batch]
        for attempt in range(WRITE_ATTEMPTS):
            try:
                await self._writer.write(rows)
            except Exception as exc:  # the driver's errors vary; the database is asked why
                if await self._writer.reachable():
                    if len(batch) > 1:
                        half = len(batch) // 2
                        await self._write(batch[:half])
                        await self._write(batch[half:])
                        return
                    log.error("usage record refused (%s): %s", exc, asdict(batch[0][0]))
                    break
                log.warning("usage write failed (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(RETRY_BASE_S * 2**attempt)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
            return
        else:
            # Keep the records in the log so an operator can replay them.
            for rec, _ in batch:
                log.error("usage record NOT written: %s", asdict(rec))
        for _, future in batch:
            if not future.done():
                future.set_exception(LedgerUnavailable("the usage ledger cannot be written"))


class UsageLedger:
    """Where the routes' usage records go: one group commit to the database, and with a
    spool directory, the journal for records without a credit hold."""

    def __init__(
        self,
        engine: AsyncEngine,
        spool_directory: Path | None = None,
        in_flight: InFlight | None = None,
    ) -> None:
        self.in_flight = in_flight or InFlight()
        writer = usage_writer(engine, _COLUMNS)
        self._direct = GroupCommit(writer)
        self.drainer: SpoolDrainer | None = None
        self._spooled = self._direct
        self._journal: SpoolWriter | None = None
        if spool_directory is None:
            return
        sqlite = isinstance(writer, SqliteUsageWriter)
        if isinstance(writer, SqliteUsageWriter):
            target: DrainTarget = SqliteTarget(writer)
        elif engine.url.get_backend_name() == "postgresql":
            target = PostgresTarget(engine, _COLUMNS)
        else:  # SQLite in memory: no other connection could drain into it
            return
        self.drainer = SpoolDrainer(engine, spool_directory, _COLUMNS, target)
        self._journal = SpoolWriter(self.drainer, writer, sqlite=sqlite)
        self._spooled = GroupCommit(self._journal)

    async def start(self) -> None:
        if self.drainer is not None:
            await self.drainer.start()
            self._spooled.start()
        self._direct.start()

    def submit(self, record: UsageRecord, *, held: bool = False) -> asyncio.Future[None]:
        """Queue a record; the future resolves when it is committed (``held``: in the
        database itself). Never blocks, so it is safe to call from a ``finally`` of a
        cancelled stream."""
        return (self._direct if held else self._spooled).submit(record)

    async def record(self, record: UsageRecord, *, held: bool = False) -> None:
        """Commit ``record`` (``held``: in the database itself) before returning.

        With the journal, the record of a request served alone (or nearly) is
        appended here, at once: one ``write`` that never waits, instead of two turns of
        the event loop to the group commit's task and back. In a crowd, records go
        through the group commit, which appends those of concurrent requests in one
        ``write`` (cheaper per record than a write each). A failed append goes to the
        group commit too, which retries it, or refuses it for its values."""
        if not held and self._journal is not None and self.in_flight.count <= JOURNAL_AT_MOST:
            try:
                await self._journal.write([_as_row(record)])
                return
            except Exception as exc:  # the group commit decides what the failure was
                log.debug("usage journal append failed (%s): through the group commit", exc)
        await asyncio.shield(self.submit(record, held=held))

    async def flush(self) -> None:
        """Wait (a bounded time) for the records committed so far to be in the database,
        so that a read of usage records sees them; immediate without a spool."""
        if self.drainer is not None:
            await self.drainer.flush()

    async def close(self) -> None:
        """Write everything still queued, then stop."""
        if self._spooled is not self._direct:
            await self._spooled.close()
        if self.drainer is not None:  # before the database's writer, which it may use
            await self.drainer.close()
        await self._direct.close()
