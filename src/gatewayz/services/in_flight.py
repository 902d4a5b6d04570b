"""How many HTTP requests the process is serving right now.

The outermost ASGI layer (``http/requestid.py``) counts them; the usage ledger reads the
count to choose how a record reaches the usage journal on SQLite: alone, a request is
answered sooner if its record is appended at once; in a crowd, the records of concurrent
requests are appended together, one ``write`` per group (``services/ledger.py``)."""

from __future__ import annotations


class InFlight:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0
