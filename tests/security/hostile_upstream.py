"""An upstream that tries to leak the gateway's secrets through its error answers.

Every answer quotes what the gateway sent it - the ``Authorization`` header and the key in
it, whole, truncated, with the middle elided, split by a NUL - next to credentials it
makes up (``sk-proj-...``, ``hf_...``, ``AKIA...``, a password in a URL). It serves
``/<mode>/v1/<operation>`` (OpenAI-compatible providers) and ``POST /<mode>`` (an HF
task server), in a thread of the test process:

- ``e400``, ``e401``, ``e403``, ``e500``: that status, with a JSON error message;
- ``headers``: 500 with a plain-text body that dumps the request's header lines;
- ``ratelimit``: 429 whose ``Retry-After`` header is the key;
- ``midstream``: a 200 stream that sends one chunk, then an error event;
- ``media``: 200 with a content type made of the key (for HF task servers).
"""

from __future__ import annotations

import asyncio
import threading

import orjson
from aiohttp import web

from tests.servers import free_port

# Credentials the gateway does not know, in the shapes it must still recognise.
INVENTED = (
    "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz",
    "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",
    "AKIAIOSFODNN7EXAMPLE",
    "https://admin:hunter2hunter2@db.internal/x?token=t0k3nt0k3n&password=pa55w0rdpa55",
)


def echoes(authorization: str) -> str:
    """What the upstream says about the credential it was sent, every way it can."""
    key = authorization.removeprefix("Bearer ")
    parts = [
        f"Incorrect API key provided: {key}.",
        f"Your header was Authorization: {authorization}",
        f"key ends in {key[-12:]}, starts with {key[:12]}, elided {key[:10]}...{key[-10:]}",
        f"truncated {key[:-3]} split {key[:6]}\x00{key[6:]}",
        f'json {{"x-api-key": "{key}", "api_key": "{key}"}}',
        "also " + " ".join(INVENTED),
    ]
    return " | ".join(parts)


class HostileUpstream:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="hostile-upstream")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile upstream did not start")

    def base(self, mode: str) -> str:
        return f"{self.url}/{mode}/v1"

    def root(self, mode: str) -> str:
        return f"{self.url}/{mode}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{mode}/v1/{op:.*}", self._handle)
        app.router.add_post("/{mode}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        mode = request.match_info["mode"]
        await request.read()
        authorization = request.headers.get("Authorization", "")
        key = authorization.removeprefix("Bearer ")
        said = echoes(authorization)
        if mode in ("e400", "e401", "e403", "e500"):
            body = {"error": {"message": said, "type": "invalid_request_error"}}
            return web.json_response(body, status=int(mode[1:]))
        if mode == "headers":
            lines = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
            return web.Response(status=500, text=f"upstream crashed; request was:\r\n{lines}")
        if mode == "ratelimit":
            body = {"error": {"message": "slow down; " + said}}
            return web.json_response(body, status=429, headers={"Retry-After": key})
        if mode == "media":
            return web.Response(body=b"{}", headers={"Content-Type": f"text/x-{key}"})
        if mode == "midstream":
            out = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await out.prepare(request)
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}],
            }
            await out.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
            error = {"error": {"message": "backend fell over: " + said, "code": 500}}
            await out.write(b"data: " + orjson.dumps(error) + b"\n\n")
            await out.write_eof()
            return out
        return web.json_response({"error": f"unknown mode {mode}"}, status=404)
