"""One Redis connection shared by every request of a process, pipelined: each command is
written as it comes and the replies, which Redis sends in order, are handed back in order
by one reader task. redis-py does the connecting (TLS, AUTH, SELECT, RESP parsing); a pool
of connections with one command in flight each cost several times more CPU per command.

Every call gives up after ``timeout_s``, whatever Redis is doing (down, slow, or paused
with its socket open); a timed-out connection is dropped and the next call reconnects."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError, ResponseError


class PipeUnavailable(Exception):
    """Redis did not answer in time, or the connection failed."""


def _bulk(args: Any) -> bytes:
    """Arguments as RESP bulk strings; several times cheaper than redis-py's general
    packer for the short str/int arguments sent here."""
    out = []
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _pack(*command: Any) -> bytes:
    return b"*%d\r\n" % len(command) + _bulk(command)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(PipeUnavailable("no answer in time"))


class RedisPipe:
    def __init__(self, url: str, timeout_s: float, scripts: dict[str, str]) -> None:
        pool = ConnectionPool.from_url(url)
        self._make: Callable[[], AbstractConnection] = lambda: pool.connection_class(
            **{
                **pool.connection_kwargs,
                "socket_timeout": None,
                "socket_connect_timeout": timeout_s,
            }
        )
        self._timeout_s = timeout_s
        self._scripts = scripts  # name -> Lua source, loaded on every new connection
        self._sha = {n: hashlib.sha1(s.encode()).hexdigest() for n, s in scripts.items()}
        # The packed start of a script call (EVALSHA, its keys), by script, keys and arity.
        self._heads: dict[tuple[str, tuple[str, ...], int], bytes] = {}
        self._conn: AbstractConnection | None = None
        self._connecting: asyncio.Future[AbstractConnection] | None = None
        self._waiting: deque[asyncio.Future[Any]] = deque()
        # Commands of this event-loop turn, written together (one system call for many).
        self._outbox: list[bytes] = []
        self._reader: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        self._drop(self._conn, PipeUnavailable("closed"))
        if self._closing:
            await asyncio.wait(self._closing, timeout=1)

    async def script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run a script loaded under ``name`` (loaded again if Redis forgot it)."""
        conn = self._conn or await self._connect()
        which = (name, tuple(keys), len(args))
        head = self._heads.get(which)
        if head is None:
            if len(self._heads) > 10_000:
                self._heads.clear()
            count = 3 + len(keys) + len(args)
            head = b"*%d\r\n" % count + _bulk(("EVALSHA", self._sha[name], len(keys), *keys))
            self._heads[which] = head
        command = head + _bulk(args)
        try:
            return await self._call(conn, command)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise PipeUnavailable(f"script {name} failed: {exc}") from None
            await self._load(conn)
            return await self._call(conn, command)

    async def _call(self, conn: AbstractConnection, command: bytes) -> Any:
        if conn is not self._conn or not conn.is_connected:
            raise PipeUnavailable("the connection was lost")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append(future)
        timer = loop.call_later(self._timeout_s, _expire, future)
        # Queued in the order of ``_waiting``: the order of the commands on the wire.
        if not self._outbox:
            loop.call_soon(self._flush, conn)
        self._outbox.append(command)
        try:
            return await future
        except PipeUnavailable:
            # Its reply may still come: the connection is out of step, never reuse it.
            self._drop(conn, PipeUnavailable("an earlier command got no answer in time"))
            raise
        except (RedisError, OSError) as exc:
            self._drop(conn, PipeUnavailable(str(exc)))
            raise PipeUnavailable(f"{type(exc).__name__}: {exc}") from None
        finally:
            timer.cancel()

    def _flush(self, conn: AbstractConnection) -> None:
        if conn is not self._conn:
            return  # dropped meanwhile: its commands have failed already
        chunks, self._outbox = self._outbox, []
        task = asyncio.get_running_loop().create_task(self._send(conn, chunks))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _send(self, conn: AbstractConnection, chunks: list[bytes]) -> None:
        try:
            await conn.send_packed_command(chunks, check_health=False)
        except (RedisError, OSError) as exc:
            self._drop(conn, PipeUnavailable(f"{type(exc).__name__}: {exc}"))

    async def _connect(self) -> AbstractConnection:
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_future()
            conn = self._make()
            try:
                opening = conn.connect()  # type: ignore[no-untyped-call]
                await asyncio.wait_for(opening, self._timeout_s)
                self._conn = conn
                self._reader = asyncio.create_task(self._read(conn), name="redis-pipe-reader")
                await self._load(conn)
                self._connecting.set_result(conn)
            except (RedisError, OSError, TimeoutError, PipeUnavailable) as exc:
                if self._conn is conn:
                    self._drop(conn, PipeUnavailable(str(exc)))
                else:
                    self._disconnect(conn)
                self._connecting.set_exception(PipeUnavailable(f"connecting: {exc}"))
                self._connecting.exception()  # retrieved: waiters get their own copy
            finally:
                connecting, self._connecting = self._connecting, None
            return await connecting
        return await self._connecting

    async def _load(self, conn: AbstractConnection) -> None:
        for source in self._scripts.values():
            await self._call(conn, _pack("SCRIPT", "LOAD", source))

    async def _read(self, conn: AbstractConnection) -> None:
        try:
            while True:
                try:
                    reply: Any = await conn.read_response(timeout=math.inf)
                except ResponseError as exc:
                    reply = exc
                if not self._waiting:
                    break  # a reply nobody asked for: the stream is out of step
                future = self._waiting.popleft()
                if future.done():
                    continue  # its caller gave up
                if isinstance(reply, ResponseError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply.decode() if isinstance(reply, bytes) else reply)
        except (RedisError, OSError) as exc:
            self._drop(conn, PipeUnavailable(str(exc)))
            return
        self._drop(conn, PipeUnavailable("out of step"))

    def _drop(self, conn: AbstractConnection | None, error: PipeUnavailable) -> None:
        """Forget ``conn`` (if still the current one) and fail every command waiting on it."""
        if conn is not self._conn:
            return
        self._conn = None
        self._outbox = []
        reader, self._reader = self._reader, None
        waiting, self._waiting = self._waiting, deque()
        for future in waiting:
            if not future.done():
                future.set_exception(error)
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        if conn is not None:
            self._disconnect(conn)

    def _disconnect(self, conn: AbstractConnection) -> None:
        task = asyncio.get_running_loop().create_task(conn.disconnect(nowait=True))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
