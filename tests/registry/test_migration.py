"""Migration 0003 builds the registry tables exactly as ``db/tables.py`` describes them,
and downgrades cleanly, on SQLite and PostgreSQL."""

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

REGISTRY = {"registry_models", "registry_routes", "registry_audit", "registry_state"}


def _state(url: str) -> tuple[list[str], set[str]]:
    async def run() -> tuple[list[str], set[str]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:

                def work(sync: Any) -> tuple[list[str], set[str]]:
                    diff = compare_metadata(MigrationContext.configure(sync), metadata)
                    ours = [repr(d) for d in diff if any(t in repr(d) for t in REGISTRY)]
                    return ours, set(inspect(sync).get_table_names())

                return await conn.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_registry_migration_round_trip(database_url: str) -> None:
    cfg = alembic_config(database_url)
    command.upgrade(cfg, "head")
    diff, tables = _state(database_url)
    assert tables >= REGISTRY
    assert diff == []
    command.downgrade(cfg, "0002")
    assert not REGISTRY & _state(database_url)[1]
    command.upgrade(cfg, "head")
    assert _state(database_url)[1] >= REGISTRY
