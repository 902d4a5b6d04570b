"""Whole numbers from query strings and command-line flags: plain ASCII digits, bounded,
with an error that names the parameter (``int()`` alone takes ``"²"``-like digits it then
refuses, or thousands of digits)."""

from __future__ import annotations

from gatewayz.errors import InvalidRequest

# Key ids are 32-bit integers in the database (PostgreSQL refuses larger ones outright).
MAX_ID = 2**31 - 1


def parse_count(name: str, text: str, low: int, high: int) -> int:
    """``text`` as an integer from ``low`` to ``high``, or an ``InvalidRequest``."""
    if (
        not text.isascii()
        or not text.isdigit()
        or len(text) > len(str(high))
        or not low <= int(text) <= high
    ):
        raise InvalidRequest(f"{name} must be an integer from {low} to {high}")
    return int(text)


def parse_id(name: str, text: str) -> int:
    return parse_count(name, text, 1, MAX_ID)
