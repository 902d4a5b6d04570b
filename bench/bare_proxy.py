"""The reference a gateway is compared with: a bare Starlette + aiohttp proxy with no
features (no auth, no records, no metrics), served like the gateway (uvicorn, uvloop,
httptools, one worker), with an aiohttp pool of 256 connections. A chat completion is
passed on as bytes; a streamed one (under /stream) is relayed as the upstream's bytes
arrive. Usage: python bench/bare_proxy.py PORT UPSTREAM_BASE_URL"""

import sys
from collections.abc import AsyncIterator

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

UPSTREAM = sys.argv[2]
session: aiohttp.ClientSession | None = None


def client() -> aiohttp.ClientSession:
    global session
    if session is None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
    return session


async def chat(request: Request) -> Response:
    async with client().post(UPSTREAM + request.url.path, data=await request.body()) as r:
        return Response(await r.read(), r.status, media_type="application/json")


async def stream(request: Request) -> Response:
    r = await client().post(UPSTREAM + request.url.path, data=await request.body())

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for data in r.content.iter_any():
                yield data
        finally:
            r.release()

    return StreamingResponse(relay(), r.status, media_type="text/event-stream")


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/stream/v1/chat/completions", stream, methods=["POST"]),
    ]
)
uvicorn.run(
    app,
    port=int(sys.argv[1]),
    loop="uvloop",
    http="httptools",
    access_log=False,
    log_level="warning",
)
