"""The OpenAI-compatible API: chat completions, completions, models."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gatewayz.http.body import read_json_object
from gatewayz.http.families import OPENAI, FamilyRoute
from gatewayz.http.responses import JSONResponse, sse_response
from gatewayz.routes.common import begin, primed_sse
from gatewayz.schemas.openai import ChatCompletionRequest, CompletionRequest
from gatewayz.schemas.validate import validate
from gatewayz.upstreams.base import Operation

_SCHEMAS: dict[str, Any] = {"chat": ChatCompletionRequest, "completion": CompletionRequest}


async def serve_openai(
    request: Request, route: str, op: Operation, model_id: str | None = None
) -> Response:
    """Chat or text completion, streamed or not; ``model_id`` (from a URL) overrides the
    body's model."""
    gw, ctx = await begin(request, route)
    body = await read_json_object(request, gw.settings.max_body_bytes)
    req = validate(_SCHEMAS[op], body)
    task = "conversational" if op == "chat" else "text-generation"
    model = gw.inference.resolve(ctx, model_id or req.model, task)
    if req.stream:
        chunks = gw.inference.stream(ctx, model, task, op, body)
        return sse_response(await primed_sse(request, chunks))
    return JSONResponse(await gw.inference.create(ctx, model, task, op, body))


async def chat_completions(request: Request) -> Response:
    return await serve_openai(request, "chat_completions", "chat")


async def completions(request: Request) -> Response:
    return await serve_openai(request, "completions", "completion")


async def list_models(request: Request) -> Response:
    gw, _ = await begin(request, "models")
    data = [
        {
            "id": m.id,
            "object": "model",
            "created": 0,
            "owned_by": "gatewayz",
            "hub_model_id": m.hub_model_id,
            "task": m.task,
            # Exact decimals as JSON numbers: USD per million tokens, as HF expects.
            "pricing": {
                "input": orjson.Fragment(str(m.pricing.input_per_million_usd)),
                "output": orjson.Fragment(str(m.pricing.output_per_million_usd)),
            },
            "context_length": m.context_length,
        }
        for m in gw.registry.live()
    ]
    return JSONResponse({"object": "list", "data": data})


ROUTES = [
    FamilyRoute("/v1/chat/completions", chat_completions, family=OPENAI, methods=["POST"]),
    FamilyRoute("/v1/completions", completions, family=OPENAI, methods=["POST"]),
    FamilyRoute("/v1/models", list_models, family=OPENAI, methods=["GET"]),
]
