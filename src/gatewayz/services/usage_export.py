"""``gatewayz usage export``: every matching usage record as CSV or JSON Lines, streamed
row by row so an export of millions of rows needs no more memory than one batch."""

from __future__ import annotations

import csv
from typing import Literal, TextIO

import orjson

from gatewayz.config import Settings
from gatewayz.db.engine import create_engine
from gatewayz.services.usage import COLUMNS, UsageFilter, UsageQueries

ExportFormat = Literal["csv", "jsonl"]
FIELDS = (*COLUMNS, "cost_usd")


async def export_usage(settings: Settings, flt: UsageFilter, fmt: ExportFormat, out: TextIO) -> int:
    """Write the records to ``out``; return how many were written."""
    engine = create_engine(settings.database_url)
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    try:
        async for row in UsageQueries(engine).rows(flt):
            if writer is not None:
                writer.writerow(row)
            else:
                out.write(orjson.dumps(row).decode() + "\n")
            count += 1
    finally:
        await engine.dispose()
    return count
