"""The reference a gateway is compared with: a bare Starlette + aiohttp proxy with no
features (no auth, no records, no metrics), served like the gateway (uvicorn, uvloop,
httptools, one worker). Usage: python bench/bare_proxy.py PORT UPSTREAM_BASE_URL"""

import sys

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

UPSTREAM = sys.argv[2]
session: aiohttp.ClientSession | None = None


async def chat(request: Request) -> Response:
    global session
    if session is None:
        session = aiohttp.ClientSession()
    async with session.post(UPSTREAM + "/v1/chat/completions", data=await request.body()) as r:
        return Response(await r.read(), r.status, media_type="application/json")


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
uvicorn.run(
    app,
    port=int(sys.argv[1]),
    loop="uvloop",
    http="httptools",
    access_log=False,
    log_level="warning",
)
