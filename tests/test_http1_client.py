"""The lean upstream HTTP/1.1 client against real local TCP servers that misbehave in the
ways upstreams do: chunked bodies, closed keep-alive connections, garbage, silence."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from gatewayz.upstreams.http1 import ConnectFailed, HTTP1Client, ProtocolFailed
from tests.servers import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: 2\r\n\r\n{}"
)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


async def serve(handler: Handler) -> tuple[asyncio.Server, str]:
    port = free_port()
    server = await asyncio.start_server(handler, "127.0.0.1", port)
    return server, f"http://127.0.0.1:{port}/v1/chat/completions"


def client(read_timeout: float = 2.0) -> HTTP1Client:
    return HTTP1Client(
        max_connections=4,
        connect_timeout_s=1,
        read_timeout_s=read_timeout,
        headers={"Content-Type": "application/json"},
    )


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_keep_alive_reuses_one_connection() -> None:
    connections = 0
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while not reader.at_eof():
            try:
                seen.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                return
            writer.write(OK)
            await writer.drain()

    async def main() -> None:
        server, url = await serve(handler)
        http = client()
        for _ in range(5):
            answer = await http.post(url, b'{"a": 1}')
            assert (answer.status, answer.content_type, answer.body) == (
                200,
                "application/json",
                b"{}",
            )
        await http.close()
        server.close()

    run(main())
    assert connections == 1
    assert seen[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:")
    assert seen[0].endswith(b'Content-Length: 8\r\n\r\n{"a": 1}')


def test_chunked_body_is_reassembled() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'4\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'
        )
        await writer.drain()

    async def main() -> None:
        server, url = await serve(handler)
        answer = await client().post(url, b"{}")
        assert (answer.status, answer.body) == (500, b'{"a": 1}')
        server.close()

    run(main())


def test_server_closing_an_idle_connection_is_retried_on_a_fresh_one() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        writer.close()  # no keep-alive announced, but the connection is dropped

    async def main() -> None:
        server, url = await serve(handler)
        http = client()
        for _ in range(3):
            assert (await http.post(url, b"{}")).status == 200
        server.close()

    run(main())


def test_garbage_is_a_protocol_failure() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()

    async def main() -> None:
        server, url = await serve(handler)
        with pytest.raises(ProtocolFailed):
            await client().post(url, b"{}")
        server.close()

    run(main())


def test_refused_connection_and_silence() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def main() -> None:
        with pytest.raises(ConnectFailed):
            await client().post(f"http://127.0.0.1:{free_port()}/x", b"{}")
        server, url = await serve(silent)
        with pytest.raises(TimeoutError):
            await client(read_timeout=0.3).post(url, b"{}")
        server.close()

    run(main())


SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def sse_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_a_streamed_body_is_read_as_it_arrives_then_the_connection_serves_again() -> None:
    connections = 0
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for _ in range(2):
            await read_request(reader)
            writer.write(SSE_HEAD + sse_chunk(b"data: 1\n\n"))
            await writer.drain()
            await release.wait()  # the second event only once the first was read
            writer.write(sse_chunk(b"data: 2\n\n") + b"0\r\n\r\n")
            await writer.drain()

    async def main() -> None:
        server, url = await serve(handler)
        http = client()
        for _ in range(2):
            answer = await http.stream(url, b"{}")
            assert (answer.status, answer.content_type) == (200, "text/event-stream")
            assert await answer.read() == b"data: 1\n\n"
            release.set()
            assert await answer.read() == b"data: 2\n\n"
            assert await answer.read() == b""
            answer.close()
            release.clear()
        await http.close()
        server.close()

    run(main())
    assert connections == 1


def test_a_stream_left_midway_or_silent_or_cut_does_not_serve_again() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        request = await read_request(reader)
        writer.write(SSE_HEAD + sse_chunk(b"data: 1\n\n"))
        await writer.drain()
        if b"cut" in request:
            writer.close()  # hangs up without the chunked body's last chunk
            return
        await asyncio.sleep(3)

    async def main() -> None:
        server, url = await serve(handler)
        http = client(read_timeout=0.3)
        answer = await http.stream(url, b"{}")
        assert await answer.read() == b"data: 1\n\n"
        answer.close()  # left midway: the connection cannot be reused
        answer = await http.stream(url, b"{}")
        await answer.read()
        with pytest.raises(TimeoutError):
            await answer.read()
        answer.close()
        answer = await http.stream(url, b"cut")
        await answer.read()
        with pytest.raises(ProtocolFailed):
            await answer.read()
        answer.close()
        await http.close()
        server.close()

    run(main())
    assert connections == 3
