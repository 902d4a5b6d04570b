"""One Redis connection shared by every request of a process, pipelined: each command is
written as it comes and the replies, which Redis sends in order, are handed back in order
by one reader task. redis-py does the connecting (TLS, AUTH, SELECT, RESP parsing); a pool
of connections with one command in flight each cost several times more CPU per command.

Every call gives up after ``timeout_s``, whatever Redis is doing (down, slow, or paused
with its socket open); a timed-out connection is dropped and the next call reconnects.
Replies come in order, so one timer, set for the oldest command waiting, watches them all.

On Redis Cluster (``cluster_key``) every command of the pipe is on the one hash slot of
that key: the pipe asks the cluster which node serves it, connects there, and on a
``MOVED`` reply (the slot moved, a replica took over) drops the connection and asks
again on the next call."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import ConnectionPool, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import (
    AskError,
    ClusterDownError,
    NoScriptError,
    RedisError,
    ResponseError,
    TryAgainError,
)


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


class RedisPipe:
    def __init__(
        self,
        url: str,
        timeout_s: float,
        scripts: dict[str, str],
        cluster_key: str | None = None,
    ) -> None:
        self._url = url
        pool = ConnectionPool.from_url(url)
        self._make: Callable[..., AbstractConnection] = lambda **where: pool.connection_class(
            **{
                **pool.connection_kwargs,
                "socket_timeout": None,
                "socket_connect_timeout": timeout_s,
                **where,
            }
        )
        self._cluster_key = cluster_key
        self._timeout_s = timeout_s
        self._scripts = scripts  # name -> Lua source, loaded on every new connection
        self._sha = {n: hashlib.sha1(s.encode()).hexdigest() for n, s in scripts.items()}
        # The packed start of a script call (EVALSHA, its keys), by script, keys and arity.
        self._heads: dict[tuple[str, tuple[str, ...], int], bytes] = {}
        self._conn: AbstractConnection | None = None
        self._connecting: asyncio.Future[AbstractConnection] | None = None
        # Commands sent and not yet answered, in order, with the time each gives up.
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._watchdog: asyncio.TimerHandle | None = None
        # Commands of this event-loop turn, written together (one system call for many).
        self._outbox: list[bytes] = []
        self._reader: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        self._drop(self._conn, PipeUnavailable("closed"))
        if self._closing:
            await asyncio.wait(self._closing, timeout=1)

    async def script(
        self, name: str, keys: list[str], args: list[Any], *, cache: bool = True
    ) -> Any:
        """Run a script loaded under ``name`` (loaded again if Redis forgot it). ``cache``:
        keep the packed start of the command for the next call with the same keys."""
        conn = self._conn or await self._connect()
        which = (name, tuple(keys), len(args))
        head = self._heads.get(which) if cache else None
        if head is None:
            count = 3 + len(keys) + len(args)
            head = b"*%d\r\n" % count + _bulk(("EVALSHA", self._sha[name], len(keys), *keys))
            if cache:
                if len(self._heads) > 10_000:
                    self._heads.clear()
                self._heads[which] = head
        command = head + _bulk(args)
        try:
            return await self._call(conn, command)
        except NoScriptError:  # flushed by hand: load them again
            await self._load(conn)
            return await self._call(conn, command)
        except (AskError, ClusterDownError, TryAgainError) as exc:
            # The slot is served elsewhere now (MOVED is an AskError): find it again on
            # the next call.
            self._drop(conn, PipeUnavailable(f"redis cluster: {exc}"))
            raise PipeUnavailable(f"redis cluster: {type(exc).__name__} {exc}") from None
        except ResponseError as exc:
            raise PipeUnavailable(f"script {name} failed: {exc}") from None

    async def _call(self, conn: AbstractConnection, command: bytes) -> Any:
        if conn is not self._conn or not conn.is_connected:
            raise PipeUnavailable("the connection was lost")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        deadline = loop.time() + self._timeout_s
        self._waiting.append((future, deadline))
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._watch, conn)
        # Queued in the order of ``_waiting``: the order of the commands on the wire.
        if not self._outbox:
            loop.call_soon(self._flush, conn)
        self._outbox.append(command)
        try:
            return await future
        except (RedisError, OSError) as exc:
            self._drop(conn, PipeUnavailable(str(exc)))
            raise PipeUnavailable(f"{type(exc).__name__}: {exc}") from None

    def _watch(self, conn: AbstractConnection) -> None:
        """Fires at the oldest waiting command's deadline (or later, if it was answered
        meanwhile: then it waits for the next one)."""
        self._watchdog = None
        if conn is not self._conn or not self._waiting:
            return
        loop = asyncio.get_running_loop()
        deadline = self._waiting[0][1]
        if deadline > loop.time():
            self._watchdog = loop.call_at(deadline, self._watch, conn)
            return
        # Its reply may still come: the connection is out of step, never reuse it; the
        # commands behind it fail with it (they are answered after it, if ever).
        self._drop(conn, PipeUnavailable("no answer in time"))

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
        if self._connecting is not None:
            return await self._connecting
        self._connecting = asyncio.get_running_loop().create_future()
        conn: AbstractConnection | None = None
        try:
            conn = await asyncio.wait_for(self._open(), self._timeout_s)
            self._conn = conn
            self._reader = asyncio.create_task(self._read(conn), name="redis-pipe-reader")
            await self._load(conn)
            self._connecting.set_result(conn)
        except (RedisError, OSError, TimeoutError, PipeUnavailable) as exc:
            if conn is not None and self._conn is conn:
                self._drop(conn, PipeUnavailable(str(exc)))
            elif conn is not None:
                self._disconnect(conn)
            self._connecting.set_exception(PipeUnavailable(f"connecting: {exc}"))
            self._connecting.exception()  # retrieved: waiters get their own copy
        finally:
            connecting, self._connecting = self._connecting, None
        return await connecting

    async def _open(self) -> AbstractConnection:
        """A connected connection: to ``redis_url``, or on a cluster to the node that
        serves the pipe's hash slot."""
        where: dict[str, Any] = {}
        if self._cluster_key is not None:
            cluster = RedisCluster.from_url(
                self._url, socket_connect_timeout=self._timeout_s, socket_timeout=self._timeout_s
            )
            try:
                await cluster.initialize()
                node = cluster.get_node_from_key(self._cluster_key)
                if node is None:
                    raise PipeUnavailable("redis cluster: no node serves the slot")
                where = {"host": node.host, "port": node.port}
            finally:
                await cluster.aclose()
        conn = self._make(**where)
        try:
            await conn.connect()  # type: ignore[no-untyped-call]
        except BaseException:
            self._disconnect(conn)
            raise
        return conn

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
                future = self._waiting.popleft()[0]
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
        for future, _ in waiting:
            if not future.done():
                future.set_exception(error)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        if conn is not None:
            self._disconnect(conn)

    def _disconnect(self, conn: AbstractConnection) -> None:
        task = asyncio.get_running_loop().create_task(conn.disconnect(nowait=True))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
