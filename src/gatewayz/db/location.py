"""Where a database URL points, in words an operator can check.

A relative SQLite URL (``sqlite:///./gatewayz.db``) names a file in the directory the
command runs from: run from another directory, it silently opens (and creates) another,
empty database. The CLI shows the absolute path and says when it has just created one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url


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


def is_new(database_url: str) -> bool:
    """Whether the database has no schema yet: a SQLite file not there (opening it creates
    it), or a PostgreSQL database no migration has run on."""
    path = sqlite_file(database_url)
    if path is not None:
        return not path.exists() or path.stat().st_size == 0
    if make_url(database_url).get_backend_name() == "sqlite":
        return True  # in memory
    return not asyncio.run(_has_schema(database_url))


async def _has_schema(database_url: str) -> bool:
    from gatewayz.db.engine import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            found: bool = await conn.run_sync(lambda c: inspect(c).has_table("alembic_version"))
            return found
    finally:
        await engine.dispose()


def new_database_warning(database_url: str) -> str:
    """What to tell the operator when a command has just created the database it opened."""
    advice = "if your gateway's registry is elsewhere, "
    if sqlite_file(database_url) is None:
        return (
            f"warning: {shown(database_url)} had no Gatewayz tables: this command has just "
            f"created them; {advice}check database_url"
        )
    relative = ""
    if not Path(make_url(database_url).database or "").is_absolute():
        relative = f" ({database_url} is relative to the current directory, {Path.cwd()})"
    return (
        f"warning: created a new database at {shown(database_url)}{relative}; {advice}"
        "run from its directory or use an absolute database_url"
    )
