"""A real local upstream whose speed and failures a test sets while it runs (it serves
from a thread of the test process, so a test changes its attributes directly).

It speaks the OpenAI API (``/v1/chat/completions``, streamed or not, under ``/v1`` and
``/hf/v1``) and the Hugging Face task format (``POST /hf``: text-classification). Every
answer reports ``TOKENS`` completion tokens. Behaviours, checked in this order:

- ``script``: statuses answered first, one per request (``(status, retry_after)``; 200
  goes on to a normal answer), e.g. ``[(503, "0"), (200, None)]``;
- ``hang``: never answers (the gateway's timeout expires first);
- ``fail_every``: n > 0 answers 503 to every n-th request (the first included);
- ``delay_s``: waits this long before the answer (a stream: before its first chunk);
- ``token_delay_s``: waits this long between streamed tokens;
- ``cut_after``: a stream hangs up after this many chunks.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import orjson
from aiohttp import web

from tests.servers import free_port

TOKENS = 20


class BehavingUpstream:
    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.script: list[tuple[int, str | None]] = []
        self.hang = False
        self.fail_every = 0
        self.delay_s = 0.0
        self.token_delay_s = 0.0
        self.cut_after: int | None = None
        self.hits = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"up-{name}")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"upstream {name} did not start")

    def reset(self) -> None:
        self.script, self.hang, self.fail_every = [], False, 0
        self.delay_s = self.token_delay_s = 0.0
        self.cut_after = None
        self.hits = 0

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        for prefix in ("/v1", "/hf/v1"):
            app.router.add_post(f"{prefix}/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/hf", self._task)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _models(self, _request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.name}]})

    async def _trouble(self) -> web.Response | None:
        """The answer this request gets instead of a normal one, if any."""
        self.hits += 1
        if self.script:
            status, retry_after = self.script.pop(0)
            if status != 200:
                headers = {"Retry-After": retry_after} if retry_after is not None else {}
                body = {"error": {"message": f"{self.name} answered {status}"}}
                return web.json_response(body, status=status, headers=headers)
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail_every and (self.hits - 1) % self.fail_every == 0:
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        return None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        trouble = await self._trouble()
        if trouble is not None:
            return trouble
        await asyncio.sleep(self.delay_s)
        usage = {"prompt_tokens": 5, "completion_tokens": TOKENS, "total_tokens": 5 + TOKENS}
        base: dict[str, Any] = {"id": "chatcmpl-1", "created": int(time.time()), "model": "m"}
        if not body.get("stream"):
            message = {"role": "assistant", "content": " ".join(["tok"] * TOKENS)}
            choice = {"index": 0, "message": message, "finish_reason": "length"}
            answer = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            return web.json_response(answer, headers={"x-upstream": self.name})
        out = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await out.prepare(request)
        for i in range(TOKENS):
            if self.cut_after is not None and i >= self.cut_after:
                assert request.transport is not None
                request.transport.close()  # hang up mid-stream
                return out
            if i:
                await asyncio.sleep(self.token_delay_s)
            delta = {"content": "tok "}
            chunk = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta}],
            }
            await out.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
        last = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
        await out.write(b"data: " + orjson.dumps(last) + b"\n\ndata: [DONE]\n\n")
        await out.write_eof()
        return out

    async def _embeddings(self, request: web.Request) -> web.Response:
        texts = (await request.json())["input"]
        trouble = await self._trouble()
        if trouble is not None:
            return trouble
        data = [
            {"object": "embedding", "index": i, "embedding": [0.6, 0.8]} for i in range(len(texts))
        ]
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        return web.json_response({"object": "list", "data": data, "model": "m", "usage": usage})

    async def _task(self, request: web.Request) -> web.Response:
        await request.read()
        trouble = await self._trouble()
        if trouble is not None:
            return trouble
        await asyncio.sleep(self.delay_s)
        return web.json_response([[{"label": self.name, "score": 0.9}]])


class Blackhole:
    """A host that is down: connections to ``url`` hang until the caller's connect timeout
    (a listening socket that never accepts, its backlog filled), as with a powered-off
    machine or a firewall that drops packets."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(0)
        port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            self._fillers.append(filler)

    def stop(self) -> None:
        for sock in (*self._fillers, self._server):
            sock.close()
