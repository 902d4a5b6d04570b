"""Telling a database that cannot be reached (down, restarting, out of connections) from
a query that is wrong: the first is answered 503 and retried by callers, the second is a
bug (500)."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa

# asyncpg's own errors when it cannot connect or lost the connection (SQLAlchemy passes
# some of them on unwrapped while a pool connection is being made).
_DRIVER_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) means the database is unreachable."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 5:
        if isinstance(current, (sa.OperationalError, sa.InterfaceError, sa.TimeoutError)):
            return True
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (ConnectionError, TimeoutError, *_DRIVER_OUTAGES)):
            return True
        current = current.__cause__ or getattr(current, "orig", None)
        seen += 1
    return False
