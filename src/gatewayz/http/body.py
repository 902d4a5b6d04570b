"""Reading request bodies: size-limited, JSON, an object at the top, nested at most
``MAX_JSON_DEPTH`` deep."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from gatewayz.errors import IncompleteBody, MalformedJSON, PayloadTooLarge

# How deep objects and arrays may nest in a request body (the top-level object is depth 1).
# Real requests stay far below it (an OpenAI tool schema rarely passes 10); deeper bodies
# are refused before anything recursive (validation, re-encoding for an upstream) sees them.
MAX_JSON_DEPTH = 64


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise IncompleteBody("the request body did not arrive in full") from None
    return b"".join(chunks)


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` nests objects/arrays more than ``limit`` deep (iterative, so a
    hostile body cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _brackets(raw: bytes) -> int:
    return raw.count(b"[") + raw.count(b"{")


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if not raw:
        raise MalformedJSON("the request body is empty; send a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedJSON(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedJSON("the request body must be a JSON object")
    # A body with fewer brackets than the limit cannot nest deeper: skip the walk.
    if _brackets(raw) > MAX_JSON_DEPTH and json_depth_exceeds(data, MAX_JSON_DEPTH):
        raise MalformedJSON(f"the request body nests deeper than the limit of {MAX_JSON_DEPTH}")
    return data
