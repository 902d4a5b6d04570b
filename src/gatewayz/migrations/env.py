"""Alembic environment: runs migrations through the same async engine the server uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from gatewayz.db.engine import create_engine
from gatewayz.db.tables import metadata

# Serialises concurrent start-ups of several instances against one PostgreSQL database.
_PG_LOCK_ID = 72_061_942


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_engine(context.config.attributes["database_url"])
    try:
        async with engine.connect() as conn:
            is_pg = conn.dialect.name == "postgresql"
            if is_pg:
                await conn.execute(text(f"SELECT pg_advisory_lock({_PG_LOCK_ID})"))
                await conn.commit()
            try:
                await conn.run_sync(_run)
                await conn.commit()
            finally:
                if is_pg:
                    await conn.execute(text(f"SELECT pg_advisory_unlock({_PG_LOCK_ID})"))
                    await conn.commit()
    finally:
        await engine.dispose()


asyncio.run(_main())
