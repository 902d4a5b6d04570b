"""A small real HTTP server that stands in front of the llama upstream and misbehaves on
purpose, so the gateway's error handling is tested over real sockets.

It serves ``/<mode>/v1/<operation>``; ``proxy`` and ``auth`` forward the request, unchanged,
to the real llama upstream:

- ``proxy``: forwards, and remembers the request body and headers (``GET /last``).
- ``auth``: answers 401 unless ``Authorization: Bearer <secret>``, then forwards.
- ``slow``: waits ``slow_s`` seconds, longer than the gateway's timeout, before a 503.
- ``cutoff``: forwards, but hangs up after the third streamed event.
- ``status500``: answers 500 with an OpenAI-style error body.
- ``garbage``: answers 200 with a body that is not JSON.
- ``flaky``: answers 503 (``Retry-After: 0``) to every first and second request of three,
  and forwards the third.
- ``ratelimited``: answers 429 with ``Retry-After: 120``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import aiohttp
from aiohttp import web

from tests.servers import free_port


class TroubleUpstream:
    def __init__(self, upstream_base: str, secret: str, slow_s: float = 3.0) -> None:
        self.upstream_base = upstream_base.rstrip("/")
        self.secret = secret
        self.slow_s = slow_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.last: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="trouble-upstream")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the trouble upstream did not start")

    def base(self, mode: str) -> str:
        return f"{self.url}/{mode}/v1"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/last", self._last)
        app.router.add_post("/{mode}/v1/{op:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession()

    def stop(self) -> None:
        async def shutdown() -> None:
            await self._session.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _last(self, _request: web.Request) -> web.Response:
        return web.json_response(self.last)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        mode = request.match_info["mode"]
        self.hits[mode] = self.hits.get(mode, 0) + 1
        body = await request.read()
        if mode == "status500":
            return web.json_response(
                {"error": {"message": "the model crashed", "type": "server_error"}}, status=500
            )
        if mode == "flaky" and self.hits[mode] % 3 != 0:
            return web.json_response(
                {"error": {"message": "overloaded"}}, status=503, headers={"Retry-After": "0"}
            )
        if mode == "ratelimited":
            return web.json_response(
                {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "120"}
            )
        if mode == "garbage":
            return web.Response(text="<html>not json at all", content_type="text/html")
        if mode == "auth":
            if request.headers.get("Authorization") != f"Bearer {self.secret}":
                return web.json_response({"error": {"message": "bad upstream key"}}, status=401)
        elif mode == "slow":  # the gateway gives up first; nothing is left to answer
            await asyncio.sleep(self.slow_s)
            return web.json_response({"error": "too late"}, status=503)
        elif mode == "proxy":
            self.last = {"body": await request.json(), "headers": dict(request.headers)}
        elif mode == "cutoff":
            return await self._forward(request, body, cut_after_events=3)
        elif mode not in ("auth", "flaky"):
            return web.json_response({"error": f"unknown mode {mode}"}, status=404)
        return await self._forward(request, body)

    async def _forward(
        self, request: web.Request, body: bytes, cut_after_events: int | None = None
    ) -> web.StreamResponse:
        url = f"{self.upstream_base}/{request.match_info['op']}"
        headers = {"Content-Type": "application/json"}
        async with self._session.post(url, data=body, headers=headers) as upstream:
            out = web.StreamResponse(status=upstream.status)
            out.content_type = upstream.content_type
            await out.prepare(request)
            events = 0
            async for line in upstream.content:
                await out.write(line)
                events += line.startswith(b"data:")
                if cut_after_events is not None and events >= cut_after_events:
                    # Hang up mid-stream, without the chunked body's last chunk.
                    assert request.transport is not None
                    request.transport.close()
                    return out
            await out.write_eof()
            return out
