"""Draining the local usage journals (``db/journal.py``) into the database, PostgreSQL or
SQLite (``services/drain_targets.py``), exactly once.

Each process spools to a file of its own and drains it as it goes: every batch spooled
is inserted into the database right away (rows whose request id is there already are
skipped, one transaction), and forgotten by the spool only after that transaction
commits. A process killed between the two leaves rows that are already in the database
in its file; draining them again inserts nothing, so each record lands exactly once.

Files of dead processes in the spool directory are claimed (see ``JournalFile.orphans``) at
start-up and every ``ORPHAN_SCAN_S`` after, drained the same way and removed.

While the database does not answer, rows wait in the spool and the drain is retried with
backoff up to ``RETRY_MAX_S``; a row the database refuses for its values (which ``Refusals``
keeps out of the spool, so this is not expected) is copied aside (the journal's
``refused-`` file) and logged, so it never blocks the rows behind it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from gatewayz.db.journal import JournalFile
from gatewayz.db.spool import Row
from gatewayz.services.deployment import deployment_id
from gatewayz.services.drain_targets import DrainTarget

log = logging.getLogger("gatewayz.drain")

DRAIN_BATCH = 2_000
# The drain commits at most this often: a database commit (on PostgreSQL, with its disk
# flush) per group of requests rather than per request, at the cost of that much
# visibility delay.
DRAIN_EVERY_S = 0.02
QUEUE_MAX = 50_000
RETRY_BASE_S = 0.05
RETRY_MAX_S = 1.0
ORPHAN_SCAN_S = 5.0
# How long a read of usage records (the billing lookup, usage pages) waits for this
# process's spool to reach the database before answering with what is there.
FLUSH_WAIT_S = 2.0
# At start-up, how long the files of dead processes may take to drain before the gateway
# serves (they go on draining in the background after that).
START_WAIT_S = 10.0
# At shutdown, how long the last rows may take to reach the database; rows still spooled
# then stay in the file for the next process on the directory.
CLOSE_WAIT_S = 5.0


class _Closing(Exception):
    """The drain stopped retrying because the process is stopping."""


class SpoolDrainer:
    """This process's journal, and the drain of it (and of dead processes' journals) into
    ``target``."""

    def __init__(
        self,
        engine: AsyncEngine,
        directory: Path,
        columns: Sequence[str],
        target: DrainTarget,
    ) -> None:
        self._engine = engine
        self.directory = directory
        self.columns = tuple(columns)
        self._target = target
        self._spool: JournalFile | None = None
        self._deployment = ""
        # Rows spooled here, not yet in the database, kept in memory (up to QUEUE_MAX; past
        # that, during a long outage, the drain reads them back from the file instead).
        self._queue: list[tuple[int, Row]] = []
        self._from_file = False
        self._next_seq = 1
        self._spooled = 0  # the last sequence number committed to the spool
        self._drained = 0  # ... and to the database
        self._forgotten = 0  # ... and deleted from the spool
        self._progress = asyncio.Condition()
        self._wake = asyncio.Event()
        self._orphans: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._give_up_at = 0.0

    async def start(self) -> None:
        """Create this process's spool file and start draining. Dead processes' files
        found now are drained before the first request is served (for up to
        ``START_WAIT_S``; the rest of the drain goes on in the background)."""
        self._deployment = await deployment_id(self._engine)
        self._spool = JournalFile.create(self.directory, self.columns, self._deployment)
        self._claim_orphans()
        if self._orphans:  # normally milliseconds: answer lookups for them from the start
            await asyncio.wait(set(self._orphans), timeout=START_WAIT_S)
        self._tasks = [
            asyncio.create_task(self._run(), name="usage-drain"),
            asyncio.create_task(self._scan(), name="usage-spool-scan"),
        ]

    async def append(self, rows: list[Row]) -> None:
        """Commit ``rows`` to the spool (the usage record is then durable) and queue them
        for the database."""
        assert self._spool is not None, "the drainer is not started"
        first = self._next_seq
        self._next_seq += len(rows)
        forget = self._drained if self._drained > self._forgotten else 0
        await self._spool.append(first, rows, forget)
        self._forgotten = max(self._forgotten, forget)
        if self._from_file or len(self._queue) >= QUEUE_MAX:
            self._from_file = True  # read back from the file once the queue is drained
        else:
            self._queue.extend(zip(range(first, first + len(rows)), rows, strict=True))
        self._spooled = first + len(rows) - 1
        self._wake.set()

    async def flush(self, wait_s: float = FLUSH_WAIT_S) -> bool:
        """Wait until what was spooled before this call (here, and in the dead processes'
        files being drained) is in the database; False if that took longer than ``wait_s``."""
        target, orphans = self._spooled, set(self._orphans)

        async def drained() -> None:
            async with self._progress:
                await self._progress.wait_for(lambda: self._drained >= target)
            if orphans:
                await asyncio.wait(orphans)

        try:
            await asyncio.wait_for(drained(), wait_s)
        except TimeoutError:
            return False
        return True

    async def _next_batch(self, spool: JournalFile) -> list[tuple[int, Row]]:
        """The oldest rows not yet in the database: from memory, then (after an overflow)
        from the file, in sequence order either way."""
        if self._queue:
            return self._queue[:DRAIN_BATCH]
        while self._from_file:
            batch = await spool.read(self._drained, DRAIN_BATCH)
            if batch:
                return batch
            if self._drained >= self._spooled:  # nothing was appended during the read
                self._from_file = False
        return []

    async def _run(self) -> None:
        assert self._spool is not None
        while True:
            await self._wake.wait()
            if not self._closing:  # let a few more rows join this transaction
                await asyncio.sleep(DRAIN_EVERY_S)
            self._wake.clear()
            while batch := await self._next_batch(self._spool):
                try:
                    refused = await self._insert(batch)
                except _Closing:
                    return
                if refused:  # otherwise forgotten with the next append (or scan)
                    await self._forget(self._spool, batch[-1][0], refused)
                    self._forgotten = batch[-1][0]
                else:
                    self._spool.drained_now(batch[-1][0])
                if self._queue:
                    del self._queue[: len(batch)]
                async with self._progress:
                    self._drained = batch[-1][0]
                    self._progress.notify_all()
            if self._closing:
                return

    @staticmethod
    async def _forget(spool: JournalFile, through: int, refused: list[int]) -> None:
        try:
            await spool.drained(through, refused)
        except Exception as exc:  # the rows are in the database: a later drain skips them
            log.warning("usage spool %s not updated after a drain: %s", spool.path, exc)

    async def _insert(self, batch: list[tuple[int, Row]]) -> list[int]:
        """Insert ``batch`` into the database (rows already there are skipped); the
        sequence numbers of rows it refuses. Retries while the database does not answer."""
        attempt = 0
        while True:
            try:
                await self._target.insert([row for _, row in batch])
                return []
            except Exception as exc:  # the drivers' errors vary; the database is asked why
                outage = await self._target.failed(exc)
                if not outage and await self._target.answers():
                    if len(batch) == 1:
                        log.error("usage record refused by the database (%s): %s", exc, batch[0])
                        return [batch[0][0]]
                    half = len(batch) // 2
                    return [*await self._insert(batch[:half]), *await self._insert(batch[half:])]
                if self._closing and asyncio.get_running_loop().time() > self._give_up_at:
                    raise _Closing from exc
                if attempt == 0:
                    log.warning("usage drain waiting for the database: %s", exc)
                await asyncio.sleep(min(RETRY_BASE_S * 2**attempt, RETRY_MAX_S))
                attempt += 1

    def _claim_orphans(self) -> None:
        for orphan in JournalFile.orphans(self.directory, self.columns, self._deployment):
            task = asyncio.create_task(self._drain_orphan(orphan), name="usage-orphan-drain")
            self._orphans.add(task)
            task.add_done_callback(self._orphans.discard)

    async def _scan(self) -> None:
        while not self._closing:
            await asyncio.sleep(ORPHAN_SCAN_S)
            if self._spool is not None and self._drained > self._forgotten:
                through = self._drained
                await self._forget(self._spool, through, [])
                self._forgotten = through
            try:
                self._claim_orphans()
            except OSError as exc:  # the directory is unreadable now; the next scan retries
                log.warning("usage spool directory %s not scanned: %s", self.directory, exc)

    async def _drain_orphan(self, orphan: JournalFile) -> None:
        drained = 0
        try:
            after = 0
            while True:
                rows = await orphan.read(after, DRAIN_BATCH)
                if not rows:
                    break
                refused = await self._insert(rows)
                await self._forget(orphan, rows[-1][0], refused)
                after = rows[-1][0]
                drained += len(rows)
        except _Closing:
            pass
        except Exception as exc:  # unreadable or gone: left for a later scan
            log.warning("usage spool %s not drained: %s", orphan.path, exc)
        finally:
            await orphan.close(remove=True)
        if drained:
            log.warning("drained %d usage records left by a stopped process", drained)

    async def close(self) -> None:
        """Drain what is left (for up to ``CLOSE_WAIT_S``), then close the spool; a file
        still holding rows stays for the next process on the directory."""
        self._closing = True
        self._give_up_at = asyncio.get_running_loop().time() + CLOSE_WAIT_S
        self._wake.set()
        if self._tasks:
            self._tasks[1].cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._orphans:
            await asyncio.gather(*self._orphans, return_exceptions=True)
        await self._target.close()
        if self._spool is not None:
            if self._drained > self._forgotten:
                await self._forget(self._spool, self._drained, [])
            await self._spool.close(remove=True)
