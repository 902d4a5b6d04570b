"""Where a database URL points, in words an operator can check.

A relative SQLite URL (``sqlite:///./gatewayz.db``) names a file in the directory the
command runs from: run from another directory, it silently opens (and creates) another,
empty database. The CLI shows the absolute path and says when it has just created one.
"""

from __future__ import annotations

from pathlib import Path

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
    """Whether opening the URL would create the database (a SQLite file not there yet)."""
    path = sqlite_file(database_url)
    return path is not None and (not path.exists() or path.stat().st_size == 0)


def new_database_warning(database_url: str) -> str:
    relative = ""
    raw = make_url(database_url).database or ""
    if sqlite_file(database_url) is not None and not Path(raw).is_absolute():
        relative = f" ({database_url} is relative to the current directory, {Path.cwd()})"
    return (
        f"warning: created a new database at {shown(database_url)}{relative}; if your "
        "gateway's registry is elsewhere, run from its directory or use an absolute "
        "database_url"
    )
