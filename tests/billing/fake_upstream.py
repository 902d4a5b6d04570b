"""A tiny, deterministic OpenAI-compatible upstream for the billing tests (run by uvicorn as
its own process): it answers instantly, and its token counts are predictable, so costs can
be checked exactly.

- ``prompt_tokens`` = the number of whitespace-separated words in the prompt/messages;
- ``completion_tokens`` = ``max_tokens`` (default 16), one word per streamed chunk; more
  than ``CONTEXT`` tokens are refused with a 400, as a real server does;
- the upstream model ``slow`` waits ``SLOW_TOKEN_S`` before each streamed token.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

SLOW_TOKEN_S = 0.05
CONTEXT = 4096


def _words(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if isinstance(messages, list):
        return sum(len(str(m.get("content", "")).split()) for m in messages)
    return len(str(body.get("prompt", "")).split())


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


async def models(_request: Request) -> Response:
    return _json({"object": "list", "data": [{"id": "fast"}, {"id": "slow"}]})


async def complete(request: Request) -> Response:
    body = await request.json()
    chat = request.url.path.endswith("/chat/completions")
    prompt, completion = _words(body), int(body.get("max_tokens") or 16)
    if completion > CONTEXT:
        message = f"max_tokens {completion} exceeds the context of {CONTEXT} tokens"
        return Response(orjson.dumps({"error": {"message": message}}), status_code=400)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    text = " ".join(["word"] * completion)
    if not body.get("stream"):
        choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        kind = "chat.completion" if chat else "text_completion"
        return _json(
            {
                "id": rid,
                "object": kind,
                "created": created,
                "model": body.get("model"),
                "choices": [choice],
                "usage": usage,
            }
        )
    delay = SLOW_TOKEN_S if body.get("model") == "slow" else 0.0
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    async def events() -> AsyncIterator[bytes]:
        kind = "chat.completion.chunk" if chat else "text_completion"
        for _ in range(completion):
            if delay:
                await asyncio.sleep(delay)
            part = {"delta": {"content": "word "}} if chat else {"text": "word "}
            chunk = {
                "id": rid,
                "object": kind,
                "created": created,
                "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": None, **part}],
            }
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
        if with_usage:
            last = {
                "id": rid,
                "object": kind,
                "created": created,
                "model": body.get("model"),
                "choices": [],
                "usage": usage,
            }
            yield b"data: " + orjson.dumps(last) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


app = Starlette(
    routes=[
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", complete, methods=["POST"]),
        Route("/v1/completions", complete, methods=["POST"]),
    ]
)
