"""An OpenAI-compatible upstream that bills as much as it can get away with (run by uvicorn
as its own process), for the money tests. What it reports depends on the upstream model:

- ``max``: the most an honest server could: ``prompt_tokens`` = the bytes of the messages
  and tools it was sent, ``completion_tokens`` = ``max_tokens`` (4096 when absent) for
  each of the ``n`` choices;
- ``report-IN-OUT``: exactly IN prompt and OUT completion tokens, whatever it was sent
  (``report-3000000000-5`` is a liar);
- ``slow-max``: ``max``, after ``SLOW_S`` seconds (so that requests overlap);
- ``cut-K``: a stream of K one-word chunks, then the connection is dropped mid-stream.
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

SLOW_S = 0.5
CONTEXT = 4096


def _usage(model: str, body: dict[str, Any]) -> tuple[int, int]:
    if model.startswith("report-"):
        _, prompt, completion = model.split("-")
        return int(prompt), int(completion)
    sent = orjson.dumps([body.get("messages"), body.get("prompt"), body.get("tools")])
    choices = int(body.get("n") or 1)
    return len(sent), choices * int(body.get("max_tokens") or CONTEXT)


def _chunk(rid: str, text: str) -> bytes:
    chunk = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "cut",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


async def models(_request: Request) -> Response:
    return Response(orjson.dumps({"object": "list", "data": []}), media_type="application/json")


async def complete(request: Request) -> Response:
    body = orjson.loads(await request.body())
    model = str(body.get("model"))
    rid = f"chatcmpl-{uuid.uuid4().hex}"
    if model.startswith("cut-"):
        count = int(model.split("-")[1])

        async def events() -> AsyncIterator[bytes]:
            for _ in range(count):
                yield _chunk(rid, "word ")
            await asyncio.sleep(0.05)
            raise ConnectionResetError("the upstream drops the stream")

        return StreamingResponse(events(), media_type="text/event-stream")
    if model == "slow-max":
        await asyncio.sleep(SLOW_S)
    prompt, completion = _usage(model, body)
    answer = {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": "word"},
                "finish_reason": "length",
            }
            for i in range(int(body.get("n") or 1))
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return Response(orjson.dumps(answer), media_type="application/json")


app = Starlette(
    routes=[
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", complete, methods=["POST"]),
    ]
)
