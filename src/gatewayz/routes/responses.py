"""OpenAI's Responses API: ``POST /v1/responses``, served as a chat completion, or passed
through to a model whose providers all speak the Responses API (``responses_api: true``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.http.api import Api
from gatewayz.http.body import read_json_object
from gatewayz.http.families import RESPONSES, FamilyRoute
from gatewayz.http.responses import JSONResponse, sse_response, sse_typed_event
from gatewayz.routes.common import begin, primed_sse
from gatewayz.schemas.answers import ResponseObject
from gatewayz.schemas.responses import ResponsesRequest, ResponsesTarget
from gatewayz.schemas.validate import validate
from gatewayz.services import responses
from gatewayz.services.context import RequestContext
from gatewayz.upstreams.base import JSONDict

if TYPE_CHECKING:
    from gatewayz.app import Gateway
    from gatewayz.config import ModelConfig

TASK = "conversational"
RESPONSES_API = Api(
    "Create a response",
    "OpenAI",
    body=ResponsesRequest,
    answer=ResponseObject,
    stream=True,
    description="OpenAI's Responses API, stateless; served on every upstream.",
)


async def create_response(request: Request) -> Response:
    gw, ctx = await begin(request, "responses")
    body = await read_json_object(request, gw.settings.max_body_bytes)
    target = validate(ResponsesTarget, body)
    model = gw.inference.resolve(ctx, target.model, TASK)
    if gw.inference.speaks_responses(model):
        return await _pass_through(request, gw, ctx, model, body, target.stream)
    req = RESPONSES_API.validate(body, deepest=True)
    chat = responses.to_chat(req, model)
    if req.stream:
        chunks = gw.inference.stream(ctx, model, TASK, "chat", chat)
        events = responses.response_events(req, model.id, ctx.request_id, chunks)
        return sse_response(await primed_sse(request, events, done=None, encode=sse_typed_event))
    answer = await gw.inference.create(ctx, model, TASK, "chat", chat)
    return JSONResponse(responses.response_object(req, model.id, ctx.request_id, answer))


async def _pass_through(
    request: Request,
    gw: Gateway,
    ctx: RequestContext,
    model: ModelConfig,
    body: JSONDict,
    stream: bool,
) -> Response:
    """To providers that speak the Responses API: the body as sent, the answer as given
    (with the public model id and the billed usage)."""
    if stream:
        events = gw.inference.stream(ctx, model, TASK, "responses", body)
        return sse_response(await primed_sse(request, events, done=None, encode=sse_typed_event))
    return JSONResponse(await gw.inference.create(ctx, model, TASK, "responses", body))


ROUTES = [
    FamilyRoute(
        "/v1/responses", create_response, family=RESPONSES, methods=["POST"], api=RESPONSES_API
    )
]
