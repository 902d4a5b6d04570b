"""RESP2, the Redis protocol, for the replies the rate limiter's pipe receives: commands
packed as arrays of bulk strings, and replies read from a stream fed in pieces."""

from __future__ import annotations

from typing import Any

_CRLF = b"\r\n"


class ReplyError(Exception):
    """An error reply (``-NOSCRIPT ...``, ``-MOVED ...``); ``code`` is its first word."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = message.split(" ", 1)[0]


def pack(*args: bytes | str | int) -> bytes:
    """A command: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


_INCOMPLETE = object()


def _parse(buf: bytes, pos: int) -> tuple[Any, int]:
    """The reply starting at ``pos`` and where the next one starts; ``_INCOMPLETE`` if
    the buffer ends before it does."""
    end = buf.find(_CRLF, pos)
    if end < 0:
        return _INCOMPLETE, pos
    kind, line = buf[pos], buf[pos + 1 : end]
    after = end + 2
    if kind == 36:  # $ bulk string
        size = int(line)
        if size < 0:
            return None, after
        if len(buf) < after + size + 2:
            return _INCOMPLETE, pos
        return buf[after : after + size], after + size + 2
    if kind == 43:  # + simple string
        return line.decode(), after
    if kind == 58:  # : integer
        return int(line), after
    if kind == 45:  # - error
        return ReplyError(line.decode(errors="replace")), after
    if kind == 42:  # * array
        size = int(line)
        if size < 0:
            return None, after
        items = []
        for _ in range(size):
            item, after = _parse(buf, after)
            if item is _INCOMPLETE:
                return _INCOMPLETE, pos
            items.append(item)
        return items, after
    raise ValueError(f"unexpected reply type {chr(kind)!r}")


class Replies:
    """Whole replies out of a stream of bytes (``ValueError`` if it is not RESP2)."""

    __slots__ = ("_rest",)

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> list[Any]:
        buf = self._rest + data if self._rest else data
        out = []
        pos = 0
        while pos < len(buf):
            reply, after = _parse(buf, pos)
            if reply is _INCOMPLETE:
                break
            out.append(reply)
            pos = after
        self._rest = buf[pos:]
        return out
