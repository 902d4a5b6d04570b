"""A stand-in gateway that misbehaves on request, for the retry, timeout and stream tests.

Its paths are ``/s/{key}/{status}/{fails}/{options}/{route}``: the first ``fails`` calls
for ``key`` answer ``status`` (in the gateway's error shape for ``route``), later ones
succeed. ``options`` is ``-`` or comma-separated ``ra=SECONDS`` (a Retry-After header),
``sleep=SECONDS`` (wait before answering), ``stream=error`` (a 200 stream that reports
an error after one chunk), ``body=garbage`` (a 200 that is not JSON). ``GET
/count/{key}`` tells how many calls ``key`` got, the headers of the last one, and the
client port of each (to see connection reuse).
Run: ``python standin.py PORT``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

calls: defaultdict[str, int] = defaultdict(int)
last_headers: dict[str, dict[str, str]] = {}
peers: defaultdict[str, list[int]] = defaultdict(list)

CHUNK = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}],
}


def success(route: str) -> Any:
    if route.startswith("hf/tasks/text-generation"):
        return [{"generated_text": "recovered"}]
    if route.startswith("v1/chat/completions"):
        return {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "ok"},
                    "finish_reason": "stop",
                }
            ],
        }
    return {"ok": True}


def failure(route: str, status: int, rid: str) -> dict[str, Any]:
    message = f"stand-in failure {status}"
    if route.startswith("v1/"):
        return {
            "error": {"message": message, "type": "standin", "code": str(status), "request_id": rid}
        }
    return {"error": message, "request_id": rid}


async def handle(request: Request) -> Response:
    p = request.path_params
    key = p["key"]
    calls[key] += 1
    n = calls[key]
    last_headers[key] = dict(request.headers)
    peers[key].append(request.client.port if request.client else 0)
    rid = f"standin-{key}-{n}"
    options = dict(o.split("=", 1) for o in p["options"].split(",") if "=" in o)
    if "sleep" in options:
        await asyncio.sleep(float(options["sleep"]))
    headers = {"Inference-Id": rid}
    if n <= int(p["fails"]):
        if "ra" in options:
            headers["Retry-After"] = options["ra"]
        return JSONResponse(
            failure(p["route"], int(p["status"]), rid), int(p["status"]), headers=headers
        )
    if options.get("body") == "garbage":
        return Response(b"<html>not json</html>", media_type="text/html", headers=headers)
    if options.get("stream") == "error":
        return StreamingResponse(broken_stream(), media_type="text/event-stream", headers=headers)
    return JSONResponse(success(p["route"]), headers=headers)


async def broken_stream() -> AsyncIterator[bytes]:
    yield f"data: {json.dumps(CHUNK)}\n\n".encode()
    error = {"error": {"message": "upstream went away", "type": "upstream_error"}}
    yield f"data: {json.dumps(error)}\n\n".encode()


async def count(request: Request) -> JSONResponse:
    key = request.path_params["key"]
    return JSONResponse(
        {"calls": calls[key], "headers": last_headers.get(key, {}), "peers": peers[key]}
    )


async def root(request: Request) -> Response:
    return Response("stand-in")


app = Starlette(
    routes=[
        Route("/", root),
        Route("/count/{key}", count),
        Route(
            "/s/{key}/{status:int}/{fails:int}/{options}/{route:path}",
            handle,
            methods=["GET", "POST", "PUT", "DELETE"],
        ),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
