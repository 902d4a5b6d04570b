"""One Redis connection shared by every request of a process, pipelined: each command is
written as it comes and the replies, which Redis sends in order, are handed back in order
as they arrive. A lean client of its own (``resp.py`` reads the replies): redis-py's
connection, parser and reader task cost more CPU per command than the script they run.
redis-py is still used to read the URL and, on a cluster, to find the right node.

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
import socket
import ssl
from collections import deque
from typing import Any, cast

from redis.asyncio import RedisCluster
from redis.asyncio.connection import parse_url
from redis.exceptions import RedisClusterException, RedisError

from gatewayz.services.resp import Replies, ReplyError, pack


class PipeUnavailable(Exception):
    """Redis did not answer in time, or the connection failed."""


# Errors of a cluster whose slot is (now) served elsewhere, or not at all.
_CLUSTER_MOVES = ("MOVED", "ASK", "CLUSTERDOWN", "TRYAGAIN")


def _tls(options: dict[str, Any]) -> ssl.SSLContext:
    """The TLS context of a ``rediss://`` URL (its ``ssl_*`` query arguments)."""
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    if options.get("ssl_certfile"):
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    reqs = str(options.get("ssl_cert_reqs", "required")).lower()
    if reqs in ("none", "optional") or options.get("ssl_check_hostname") is False:
        context.check_hostname = False
    if reqs == "none":
        context.verify_mode = ssl.CERT_NONE
    elif reqs == "optional":
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class _Protocol(asyncio.Protocol):
    def __init__(self, pipe: RedisPipe) -> None:
        self.pipe = pipe
        self.replies = Replies()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Each command is one write, sent at once: never held back for an ACK (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            replies = self.replies.feed(data)
        except ValueError as exc:  # not RESP: the stream cannot be trusted any more
            self.pipe._drop(self, PipeUnavailable(f"bad reply: {exc}"))
            return
        if replies:
            self.pipe._answered(self, replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pipe._drop(self, PipeUnavailable(f"connection lost: {exc or 'closed by Redis'}"))


class RedisPipe:
    def __init__(
        self,
        url: str,
        timeout_s: float,
        scripts: dict[str, str],
        cluster_key: str | None = None,
    ) -> None:
        self._url = url
        self._options: dict[str, Any] = dict(parse_url(url))
        self._cluster_key = cluster_key
        self._timeout_s = timeout_s
        self._scripts = scripts  # name -> Lua source, loaded on every new connection
        self._sha = {n: hashlib.sha1(s.encode()).hexdigest().encode() for n, s in scripts.items()}
        self._conn: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None
        # Commands sent and not yet answered, in order, with the time each gives up.
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._watchdog: asyncio.TimerHandle | None = None

    async def close(self) -> None:
        self._drop(self._conn, PipeUnavailable("closed"))

    async def script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run a script loaded under ``name`` (loaded again if Redis forgot it)."""
        conn = self._conn or await self._connect()
        command = pack(b"EVALSHA", self._sha[name], len(keys), *keys, *args)
        try:
            try:
                return await self._call(conn, command)
            except ReplyError as exc:
                if exc.code != "NOSCRIPT":
                    raise
                await self._load(conn)  # flushed by hand: load them again
                return await self._call(conn, command)
        except ReplyError as exc:
            raise self._failed(conn, exc, name) from None

    def _failed(self, conn: _Protocol | None, exc: ReplyError, name: str) -> PipeUnavailable:
        if exc.code in _CLUSTER_MOVES:
            # The slot is served elsewhere now: find it again on the next call.
            self._drop(conn, PipeUnavailable(f"redis cluster: {exc}"))
            return PipeUnavailable(f"redis cluster: {exc}")
        return PipeUnavailable(f"script {name} failed: {exc}")

    def _call(self, conn: _Protocol, command: bytes) -> asyncio.Future[Any]:
        """Writes ``command`` now; its reply (or ``ReplyError``, or ``PipeUnavailable``)
        comes in the future returned."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if conn is not self._conn or conn.transport is None or conn.transport.is_closing():
            future.set_exception(PipeUnavailable("the connection was lost"))
            return future
        deadline = loop.time() + self._timeout_s
        self._waiting.append((future, deadline))
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._watch, conn)
        conn.transport.write(command)
        return future

    def _answered(self, conn: _Protocol, replies: list[Any]) -> None:
        if conn is not self._conn:
            return
        waiting = self._waiting
        for reply in replies:
            if not waiting:  # a reply nobody asked for: the stream is out of step
                self._drop(conn, PipeUnavailable("out of step"))
                return
            future = waiting.popleft()[0]
            if future.done():
                continue  # its caller gave up
            if isinstance(reply, ReplyError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def _watch(self, conn: _Protocol) -> None:
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

    async def _connect(self) -> _Protocol:
        """The connection, made by a task of its own: a caller that is cancelled meanwhile
        (its client went away) leaves it to the others waiting for it."""
        if self._connecting is None:
            task = asyncio.get_running_loop().create_task(self._establish())
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved
            self._connecting = task
        return await asyncio.shield(self._connecting)

    async def _establish(self) -> _Protocol:
        try:
            conn = await asyncio.wait_for(self._open(), self._timeout_s)
            self._conn = conn
            await self._hello(conn)
            return conn
        except (
            OSError,
            TimeoutError,
            PipeUnavailable,
            ReplyError,
            RedisError,
            RedisClusterException,
        ) as exc:
            if self._conn is not None:
                self._drop(self._conn, PipeUnavailable(str(exc)))
            raise PipeUnavailable(f"connecting: {exc}") from None
        finally:
            self._connecting = None

    async def _open(self) -> _Protocol:
        """A connected connection: to ``redis_url``, or on a cluster to the node that
        serves the pipe's hash slot."""
        options = self._options
        loop = asyncio.get_running_loop()
        conn: _Protocol
        if "path" in options:
            _, conn = await loop.create_unix_connection(
                lambda: _Protocol(self), str(options["path"])
            )
            return conn
        host, port = str(options.get("host", "localhost")), int(options.get("port", 6379))
        if self._cluster_key is not None:
            cluster = RedisCluster.from_url(
                self._url, socket_connect_timeout=self._timeout_s, socket_timeout=self._timeout_s
            )
            try:
                await cluster.initialize()
                node = cluster.get_node_from_key(self._cluster_key)
                if node is None:
                    raise PipeUnavailable("redis cluster: no node serves the slot")
                host, port = str(node.host), int(node.port)
            finally:
                await cluster.aclose()
        tls = _tls(options) if self._url.startswith("rediss:") else None
        _, conn = await loop.create_connection(
            lambda: _Protocol(self), host, port, ssl=tls, server_hostname=host if tls else None
        )
        return conn

    async def _hello(self, conn: _Protocol) -> None:
        """Log in, choose the database and load the scripts: written at once."""
        options = self._options
        commands = []
        password = options.get("password")
        if password is not None:
            username = options.get("username")
            login = (username, password) if username else (password,)
            commands.append(pack(b"AUTH", *login))
        if int(options.get("db") or 0):
            commands.append(pack(b"SELECT", int(options["db"])))
        await self._all(conn, commands + self._loads())

    async def _load(self, conn: _Protocol) -> None:
        await self._all(conn, self._loads())

    def _loads(self) -> list[bytes]:
        return [pack(b"SCRIPT", b"LOAD", source) for source in self._scripts.values()]

    async def _all(self, conn: _Protocol, commands: list[bytes]) -> None:
        """Every command's reply (all are awaited: none is left unread), or the first error."""
        replies = await asyncio.gather(
            *(self._call(conn, c) for c in commands), return_exceptions=True
        )
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply

    def _drop(self, conn: _Protocol | None, error: PipeUnavailable) -> None:
        """Forget ``conn`` (if still the current one) and fail every command waiting on it."""
        if conn is None or conn is not self._conn:
            return
        self._conn = None
        waiting, self._waiting = self._waiting, deque()
        for future, _ in waiting:
            if not future.done():
                future.set_exception(error)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if conn.transport is not None:
            conn.transport.abort()
