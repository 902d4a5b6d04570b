"""The billing migration (0002) upgrades and downgrades on SQLite and PostgreSQL, and the
tables it leaves match ``db/tables.py``."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gatewayz.db.engine import create_engine
from gatewayz.db.migrate import alembic_config
from gatewayz.db.tables import metadata

MINE = {"api_keys", "usage_records"}


def _inspect(url: str) -> tuple[list[Any], set[str], set[str]]:
    async def run() -> tuple[list[Any], set[str], set[str]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:

                def work(sync: Any) -> tuple[list[Any], set[str], set[str]]:
                    diff = compare_metadata(MigrationContext.configure(sync), metadata)
                    insp = inspect(sync)
                    columns = {c["name"] for c in insp.get_columns("api_keys")}
                    indexes = {i["name"] for i in insp.get_indexes("usage_records")}
                    return diff, columns, indexes

                return await conn.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _table_of(change: Any) -> str | None:
    item = change[0] if isinstance(change, list) else change
    for part in item[1:]:
        table = getattr(part, "table", None) or getattr(part, "name", None)
        if isinstance(table, str):
            return table
        if table is not None and hasattr(table, "name"):
            return str(table.name)
    return item[2] if len(item) > 2 and isinstance(item[2], str) else None


def test_upgrade_downgrade_upgrade(backend: str, fresh_database: Any) -> None:
    url = fresh_database(backend)
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    diff, columns, indexes = _inspect(url)
    assert "balance_nano_usd" in columns
    assert "ix_usage_key_created_rid" in indexes and "ix_usage_key_created" not in indexes
    mine = [d for d in diff if _table_of(d) in MINE]
    assert mine == [], mine
    command.downgrade(cfg, "0001")
    _, columns, indexes = _inspect(url)
    assert "balance_nano_usd" not in columns and "ix_usage_key_created" in indexes
    command.upgrade(cfg, "head")
    _, columns, _ = _inspect(url)
    assert "balance_nano_usd" in columns
