"""A small OpenAI-compatible image server for the text-to-image tests.

No text-to-image model ships inside a package, so the tests need an upstream that answers
``POST /v1/images/generations`` the way OpenAI-compatible image servers do. This one draws
a real PNG (a gradient whose colours come from the prompt) with zlib; it records what it
was asked so tests can check the gateway's translation of parameters.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import sys
import zlib

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def png(width: int, height: int, seed: bytes) -> bytes:
    r0, g0, b0 = seed[0], seed[1], seed[2]
    rows = b"".join(
        b"\x00"
        + bytes(
            v for x in range(width) for v in ((r0 + x) % 256, (g0 + y) % 256, (b0 + x + y) % 256)
        )
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def generate(request: Request) -> JSONResponse:
    body = await request.json()
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return JSONResponse({"error": {"message": "prompt is required"}}, status_code=400)
    width, height = (int(v) for v in str(body.get("size", "64x64")).split("x"))
    seed = hashlib.sha256(f"{body['prompt']}|{body.get('seed')}".encode()).digest()
    image = png(width, height, seed)
    return JSONResponse({"created": 1, "data": [{"b64_json": base64.b64encode(image).decode()}]})


app = Starlette(routes=[Route("/v1/images/generations", generate, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
