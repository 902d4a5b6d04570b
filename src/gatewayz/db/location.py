"""Where a database URL points, in words an operator can check.

A relative SQLite URL (``sqlite:///./gatewayz.db``) names a file in the directory the
command runs from: run from another directory, it silently opens (and creates) another,
empty database. Only ``gatewayz serve`` and ``gatewayz keys create`` create a database; the
CLI's other commands refuse one that is not there, naming its absolute path.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from gatewayz.config import ConfigError


def sqlite_file(database_url: str) -> Path | None:
    """The absolute path of a SQLite database file, or None (another backend, memory)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


def shown(database_url: str) -> str:
    """The URL with a SQLite path made absolute and any password hidden."""
    path = sqlite_file(database_url)
    if path is not None:
        return f"sqlite:///{path}"
    return make_url(database_url).render_as_string(hide_password=True)


def has_schema(database_url: str) -> bool:
    """Whether the database exists and a migration has run on it. Nothing is created: a
    SQLite file is opened read-only (its write-ahead log included), never made."""
    path = sqlite_file(database_url)
    if path is not None:
        if not path.is_file():
            return False
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
        return found is not None
    if make_url(database_url).get_backend_name() == "sqlite":
        return False  # in memory: new at every start
    return asyncio.run(_has_schema(database_url))


async def _has_schema(database_url: str) -> bool:
    from gatewayz.db.engine import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            found: bool = await conn.run_sync(lambda c: inspect(c).has_table("alembic_version"))
            return found
    finally:
        await engine.dispose()


def require_schema(database_url: str) -> None:
    """Refuse to go on without the gateway's database: only ``gatewayz serve`` and
    ``gatewayz keys create`` make one. A command run from the wrong directory with a
    relative ``database_url`` would otherwise work on a new, empty database."""
    if has_schema(database_url):
        return
    create = "'gatewayz serve' or 'gatewayz keys create' creates one"
    path = sqlite_file(database_url)
    if path is None or not path.exists():
        what = (
            f"no Gatewayz database at {path}"
            if path
            else f"{shown(database_url)} has no Gatewayz tables"
        )
    else:
        what = f"{path} is not a Gatewayz database (no Gatewayz tables)"
    relative = ""
    if path is not None and not Path(make_url(database_url).database or "").is_absolute():
        relative = (
            f" (database_url {database_url} is relative to the current directory, {Path.cwd()})"
        )
    raise ConfigError(
        f"{what}{relative}; this command creates none. Run it from the gateway's directory, "
        f"or pass --config FILE or an absolute database_url ({create})"
    )
