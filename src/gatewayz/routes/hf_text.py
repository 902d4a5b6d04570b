"""Hugging Face task routes for text: text-generation and conversational."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.errors import InvalidTaskInput
from gatewayz.http.api import Api
from gatewayz.http.body import read_json_object
from gatewayz.http.families import HF, FamilyRoute
from gatewayz.http.responses import JSONResponse, sse_response
from gatewayz.routes.common import begin, primed_sse
from gatewayz.schemas.answers import GeneratedText
from gatewayz.schemas.hf import ConversationalRequest, TextGenerationRequest
from gatewayz.services.context import RequestContext
from gatewayz.services.textgen import (
    conversation_messages,
    first_text,
    generation_details,
    sampling_payload,
    tgi_events,
)
from gatewayz.upstreams.base import JSONDict

if TYPE_CHECKING:
    from gatewayz.app import Gateway

TAG = "Hugging Face tasks"
TEXT_GENERATION = Api(
    "text-generation",
    TAG,
    body=TextGenerationRequest,
    answer=list[GeneratedText],
    stream=True,
    description="Hugging Face's (TGI's) text generation; streamed as TGI token events.",
)
CONVERSATIONAL = Api(
    "conversational",
    TAG,
    body=ConversationalRequest,
    answer=list[GeneratedText],
    description="OpenAI-style messages in (`inputs` or `messages`), the answer's text out.",
)


async def generate(
    request: Request, gw: Gateway, ctx: RequestContext, body: JSONDict, model_id: str | None
) -> Response:
    """text-generation in the HF/TGI format (streamed as TGI token events if asked)."""
    req = TEXT_GENERATION.validate(body, InvalidTaskInput)
    params = req.parameters
    model = gw.inference.resolve(ctx, model_id or req.model or params.model, "text-generation")
    payload: JSONDict = {"prompt": req.inputs, **sampling_payload(params)}
    full_text = bool(params.return_full_text)
    if req.stream:
        chunks = gw.inference.stream(ctx, model, "text-generation", "completion", payload)
        events: AsyncIterator[JSONDict] = tgi_events(chunks, req.inputs, full_text, params.seed)
        return sse_response(await primed_sse(request, events, done=None))
    answer = await gw.inference.create(ctx, model, "text-generation", "completion", payload)
    text, finish = first_text(answer)
    result: JSONDict = {"generated_text": req.inputs + text if full_text else text}
    if params.details:
        result["details"] = generation_details(answer, finish, params.seed)
    return JSONResponse([result])


async def converse(
    gw: Gateway, ctx: RequestContext, body: JSONDict, model_id: str | None
) -> Response:
    """conversational: OpenAI-style messages in, ``[{"generated_text": ...}]`` out."""
    req = CONVERSATIONAL.validate(body, InvalidTaskInput)
    model = gw.inference.resolve(
        ctx, model_id or req.model or req.parameters.model, "conversational"
    )
    payload = {"messages": conversation_messages(req), **sampling_payload(req.parameters)}
    answer = await gw.inference.create(ctx, model, "conversational", "chat", payload)
    text, _ = first_text(answer)
    return JSONResponse([{"generated_text": text}])


async def text_generation(request: Request) -> Response:
    gw, ctx = await begin(request, "hf_text_generation")
    return await generate(
        request, gw, ctx, await read_json_object(request, gw.settings.max_body_bytes), None
    )


async def conversational(request: Request) -> Response:
    gw, ctx = await begin(request, "hf_conversational")
    return await converse(
        gw, ctx, await read_json_object(request, gw.settings.max_body_bytes), None
    )


ROUTES = [
    FamilyRoute(
        "/hf/tasks/text-generation",
        text_generation,
        family=HF,
        methods=["POST"],
        api=TEXT_GENERATION,
    ),
    FamilyRoute(
        "/hf/tasks/conversational", conversational, family=HF, methods=["POST"], api=CONVERSATIONAL
    ),
]
