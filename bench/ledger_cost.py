"""What the durable usage commit costs a request, apart from everything else.

    python bench/ledger_cost.py [--rows N]

Creates a fresh SQLite database with one API key (``gatewayz keys create``), and commits
usage records through the ledger's own writer (``SqliteUsageWriter``, as ``gatewayz serve``
does: on the event loop's thread, with the server's checkpoint thread running) in groups
of 1 (one connection: every request commits alone) and of 12 (about what a group commit
holds at 32 connections on this machine). Prints wall time and CPU time (all threads of
this process: the checkpoint thread included) per group and per row, and beside them what
the usage journal's append costs (``JournalFile.append``: one JSON line per row, one
``write`` per group), which is what a request of a key without credits waits for on SQLite
with ``usage_spool`` on (docs/SCALING.md), and what the journal's drain then costs per
row off the answer's path (``SqliteUsageWriter.insert_new``, in batches of 80 rows: about
20 ms of requests at 4,000 requests/s). ``bench/run.py``'s added p50 at 1
connection is the figure to set these against.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import astuple, fields
from datetime import UTC, datetime
from pathlib import Path

from harness import create_key, gateway_config

from gatewayz.db.engine import create_engine
from gatewayz.db.journal import JournalFile
from gatewayz.db.usage_writer import SqliteUsageWriter
from gatewayz.services.ledger import UsageRecord

COLUMNS = tuple(f.name for f in fields(UsageRecord))
Row = tuple[object, ...]
DRAIN_GROUP = 80


def record(key_id: int) -> UsageRecord:
    return UsageRecord(
        str(uuid.uuid4()),
        key_id,
        datetime.now(UTC),
        "chat_completions",
        "bench-model",
        "conversational",
        "mock",
        14,
        16,
        0,
        0,
        11_700,
        3,
        200,
    )


async def timed(
    write: Callable[[list[Row]], Awaitable[None] | None], key_id: int, rows: int, group: int
) -> tuple[float, float]:
    """(wall us, CPU us) per group of ``group`` new records given to ``write``."""
    wall = cpu = 0.0
    for _ in range(rows // group):
        batch = [astuple(record(key_id)) for _ in range(group)]
        w0, c0 = time.perf_counter(), time.process_time()
        pending = write(batch)
        if pending is not None:
            await pending
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
    groups = rows // group
    return wall / groups * 1e6, cpu / groups * 1e6


async def commits(db: Path, key_id: int, rows: int, group: int) -> tuple[float, float]:
    """Through the gateway's writer."""
    engine = create_engine(f"sqlite:///{db}")
    writer = SqliteUsageWriter(engine, str(db), COLUMNS)
    try:
        await timed(writer.write, key_id, 200 * group, group)  # warm up: connections, pages
        return await timed(writer.write, key_id, rows, group)
    finally:
        await writer.close()
        await engine.dispose()


async def drains(db: Path, key_id: int, rows: int, group: int) -> tuple[float, float]:
    """The journal's drain: ``insert_new``, as the drainer calls it."""
    engine = create_engine(f"sqlite:///{db}")
    writer = SqliteUsageWriter(engine, str(db), COLUMNS)
    try:
        await timed(writer.insert_new, key_id, 20 * group, group)  # warm up
        return await timed(writer.insert_new, key_id, rows, group)
    finally:
        await writer.close()
        await engine.dispose()


async def appends(directory: Path, key_id: int, rows: int, group: int) -> tuple[float, float]:
    """The usage journal's append: one JSON line per row, one ``write`` per group."""
    journal = JournalFile.create(directory, COLUMNS, "bench")
    seq = 1

    async def write(batch: list[Row]) -> None:
        nonlocal seq
        await journal.append(seq, batch)
        seq += len(batch)

    try:
        return await timed(write, key_id, rows, group)
    finally:
        await journal.close(remove=False)


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--rows", type=int, default=24_000, help="records per measurement")
    args = cli.parse_args()
    with tempfile.TemporaryDirectory(prefix="gatewayz-bench-ledger-") as tmp:
        config, db = gateway_config(Path(tmp), "http://127.0.0.1:9")
        create_key(config, Path(tmp))  # migrates the database, like ``gatewayz serve``
        with sqlite3.connect(db) as conn:
            (key_id,) = conn.execute("SELECT id FROM api_keys").fetchone()
        print(f"{'':<44}{'wall us':>10}{'CPU us':>10}{'wall us/row':>13}")
        for group in (1, 12):
            for name, (wall, cpu) in (
                (
                    "SQLite commit (the ledger's writer)",
                    asyncio.run(commits(db, key_id, args.rows, group)),
                ),
                (
                    "usage journal append (one write)",
                    asyncio.run(appends(Path(tmp) / f"journal-{group}", key_id, args.rows, group)),
                ),
            ):
                label = f"{name}, {group} row{'s' if group > 1 else ''}"
                print(f"{label:<44}{wall:>10.1f}{cpu:>10.1f}{wall / group:>13.1f}")
        wall, cpu = asyncio.run(drains(db, key_id, args.rows, DRAIN_GROUP))
        label = f"journal drain (insert_new), {DRAIN_GROUP} rows"
        print(f"{label:<44}{wall:>10.1f}{cpu:>10.1f}{wall / DRAIN_GROUP:>13.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
