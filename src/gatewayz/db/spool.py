"""What the local usage spool's files share: their names, their locks, their directory,
and the check that keeps a row the database would refuse out of them.

Each gateway process keeps the usage records of keys without credits in a journal of its
own (``db/journal.py``) before answering, drained into the database right after
(``services/drain.py``). Files are found by name in the spool directory:
``usage-<deployment>-<uuid>.lock``, which its process holds (``flock``) for as long as it
lives, beside the journal's segments. The deployment's id (one per database,
``services/deployment.py``) in the name keeps a file from being drained into another
database by a process configured with another ``database_url`` on the same directory.
A lock that can be taken belongs to a dead process: whoever takes it drains its files and
removes them. Two live processes never drain the same files: the lock is exclusive, and a
lock file is checked to still be the one at its path after taking it (a file removed
meanwhile is not claimed).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Integer, String

from gatewayz.db.tables import usage_records

Row = tuple[Any, ...]

PREFIX = "usage-"
# BigInteger first: it is a subclass of Integer.
_INT_RANGE = {BigInteger: 2**63 - 1, Integer: 2**31 - 1}


class RowRefused(ValueError):
    """A record the database would refuse (too long, out of range, a NUL character)."""


class Refusals:
    """Why the database would refuse a row (values in ``columns`` order), or None.

    The journal accepts anything JSON holds, more than the database behind it. Checking
    here keeps a row the database would refuse out of the journal, so that it fails its
    request now, as a direct write would, instead of being answered and then refused by
    the drain. The limits of each column
    are read from the table once. SQLite (``sqlite=True``) enforces no length and stores
    any 64-bit integer in any integer column."""

    def __init__(self, columns: Sequence[str], sqlite: bool = False) -> None:
        self._text: list[tuple[int, str, int]] = []  # (index, name, most characters)
        self._ints: list[tuple[int, str, int]] = []  # (index, name, largest magnitude)
        for index, name in enumerate(columns):
            kind = usage_records.c[name].type
            if isinstance(kind, String) and not sqlite:
                self._text.append((index, name, kind.length or 2**30))
            limit = next((v for t, v in _INT_RANGE.items() if isinstance(kind, t)), None)
            if limit is not None:
                self._ints.append((index, name, _INT_RANGE[BigInteger] if sqlite else limit))

    def __call__(self, row: Row) -> str | None:
        for index, name, length in self._text:
            value = row[index]
            if isinstance(value, str):
                if "\x00" in value:
                    return f"{name} contains a NUL character"
                if len(value) > length:
                    return f"{name} is longer than {length} characters"
        for index, name, limit in self._ints:
            value = row[index]
            if isinstance(value, int) and not -limit - 1 <= value <= limit:
                return f"{name} is out of range"
        return None


def check_directory(directory: Path) -> str | None:
    """Why spool files cannot be made in ``directory`` (created if need be), or None."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {str(directory)!r}: {exc.strerror}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{str(directory)!r} is not writable"
    return None


def spool_prefix(deployment: str) -> str:
    return f"{PREFIX}{''.join(c for c in deployment if c.isascii() and c.isalnum())}-"


def lock_file(path: Path) -> int | None:
    """An exclusive lock on ``path`` (created if need be), or None if another process
    holds it or the file was replaced or removed while it was being taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            raise FileNotFoundError(path)
    except OSError:
        os.close(fd)
        return None
    return fd
