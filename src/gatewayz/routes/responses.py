"""OpenAI's Responses API: ``POST /v1/responses``, served as a chat completion."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatewayz.http.body import read_json_object
from gatewayz.http.responses import JSONResponse, sse_response, sse_typed_event
from gatewayz.routes.common import begin, primed_sse
from gatewayz.schemas.responses import ResponsesRequest
from gatewayz.schemas.validate import validate
from gatewayz.services import responses

TASK = "conversational"


async def create_response(request: Request) -> Response:
    gw, ctx = await begin(request, "responses")
    body = await read_json_object(request, gw.settings.max_body_bytes)
    req = validate(ResponsesRequest, body, deepest=True)
    model = gw.inference.resolve(ctx, req.model, TASK)
    chat = responses.to_chat(req, model)
    if req.stream:
        chunks = gw.inference.stream(ctx, model, TASK, "chat", chat)
        events = responses.response_events(req, model.id, ctx.request_id, chunks)
        return sse_response(
            await primed_sse(events, responses.error_event, ctx.request_id, None, sse_typed_event)
        )
    answer = await gw.inference.create(ctx, model, TASK, "chat", chat)
    return JSONResponse(responses.response_object(req, model.id, ctx.request_id, answer))


ROUTES = [Route("/v1/responses", create_response, methods=["POST"])]
