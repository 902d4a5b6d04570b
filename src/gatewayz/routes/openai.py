"""The OpenAI-compatible API: chat completions, completions, models."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gatewayz.config import Pricing
from gatewayz.http.api import Api
from gatewayz.http.body import read_json_object
from gatewayz.http.families import OPENAI, FamilyRoute
from gatewayz.http.responses import JSONResponse, sse_response
from gatewayz.routes.common import begin, primed_sse
from gatewayz.schemas.answers import ChatCompletion, Completion, ModelList
from gatewayz.schemas.openai import ChatCompletionRequest, CompletionRequest
from gatewayz.services.provider_listing import provider_entries
from gatewayz.services.response_format import with_canonical_format
from gatewayz.upstreams.base import Operation

TAG = "OpenAI"
CHAT = Api(
    "Create a chat completion",
    TAG,
    body=ChatCompletionRequest,
    answer=ChatCompletion,
    stream=True,
    description=(
        "OpenAI's chat completions; fields not listed are passed to the upstream. "
        "response_format is taken in OpenAI's, TGI's and llama.cpp's forms and sent to "
        "each upstream in its own."
    ),
)
COMPLETION = Api(
    "Create a text completion", TAG, body=CompletionRequest, answer=Completion, stream=True
)
MODELS: Api[Any] = Api("List the live models", TAG, answer=ModelList)
_APIS: dict[str, Api[Any]] = {"chat": CHAT, "completion": COMPLETION}


async def serve_openai(
    request: Request, route: str, op: Operation, model_id: str | None = None
) -> Response:
    """Chat or text completion, streamed or not; ``model_id`` (from a URL) overrides the
    body's model."""
    gw, ctx = await begin(request, route)
    body = await read_json_object(request, gw.settings.max_body_bytes)
    req = _APIS[op].validate(body)
    if op == "chat":  # every dialect of response_format, in OpenAI's form
        body = with_canonical_format(body)
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


def _pricing(pricing: Pricing) -> dict[str, Any]:
    # Exact decimals as JSON numbers: USD per million tokens, as HF expects.
    return {
        "input": orjson.Fragment(str(pricing.input_per_million_usd)),
        "output": orjson.Fragment(str(pricing.output_per_million_usd)),
    }


async def list_models(request: Request) -> Response:
    """The live models; each lists ``providers``, one entry per route, with its breaker
    state and measurements (docs/CONFIGURATION.md says how they are computed) and what
    the last conformance check found (``services/provider_listing.py``)."""
    gw, _ = await begin(request, "models")
    data = [
        {
            "id": m.id,
            "object": "model",
            "created": 0,
            "owned_by": "gatewayz",
            "hub_model_id": m.hub_model_id,
            "task": m.task,
            "pricing": _pricing(m.pricing),
            "context_length": m.context_length,
            "providers": [
                {**entry, "pricing": _pricing(m.pricing)}
                for entry in provider_entries(
                    m,
                    gw.inference.health.describe(m),
                    gw.registry.last_check(m.id),
                    gw.registry.changed_at(m.id),
                )
            ],
        }
        for m in gw.registry.live()
    ]
    return JSONResponse({"object": "list", "data": data})


ROUTES = [
    FamilyRoute(
        "/v1/chat/completions", chat_completions, family=OPENAI, methods=["POST"], api=CHAT
    ),
    FamilyRoute("/v1/completions", completions, family=OPENAI, methods=["POST"], api=COMPLETION),
    FamilyRoute("/v1/models", list_models, family=OPENAI, methods=["GET"], api=MODELS),
]
