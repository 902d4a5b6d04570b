"""Anthropic's Messages API: ``POST /v1/messages`` (served as a chat completion) and
``POST /v1/messages/count_tokens``. The key comes in ``x-api-key`` (as Anthropic's SDKs
send it) or ``Authorization: Bearer``; ``anthropic-version`` is accepted, whatever it
says. Errors have Anthropic's shape (the ``ANTHROPIC`` family of ``http.families``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.http.api import Api
from gatewayz.http.body import read_json_object
from gatewayz.http.families import ANTHROPIC, FamilyRoute
from gatewayz.http.responses import JSONResponse, sse_response, sse_typed_event
from gatewayz.routes.common import begin, primed_sse
from gatewayz.schemas.answers import MessageObject, TokenCount
from gatewayz.schemas.anthropic import CountTokensRequest, MessagesRequest
from gatewayz.services import anthropic

TASK = "conversational"
# Says whether ``input_tokens`` of count_tokens is exact or the gateway's estimate.
COUNT_HEADER = "Gatewayz-Token-Count"
TAG = "Anthropic"
MESSAGES = Api(
    "Create a message",
    TAG,
    body=MessagesRequest,
    answer=MessageObject,
    stream=True,
    auth="bearer-or-x-api-key",
    description="Anthropic's Messages API; `anthropic-version` is accepted, whatever it says.",
)
COUNT = Api(
    "Count a message's input tokens",
    TAG,
    body=CountTokensRequest,
    answer=TokenCount,
    auth="bearer-or-x-api-key",
    description="Not an inference: nothing is charged or recorded.",
)


async def create_message(request: Request) -> Response:
    gw, ctx = await begin(request, "messages", key_header="x-api-key")
    body = await read_json_object(request, gw.settings.max_body_bytes)
    req = MESSAGES.validate(body, deepest=True)
    model = gw.inference.resolve(ctx, req.model, TASK)
    chat = anthropic.to_chat(req, model)
    if req.stream:
        chunks = gw.inference.stream(ctx, model, TASK, "chat", chat)
        events = anthropic.message_events(model.id, ctx.request_id, chunks)
        return sse_response(await primed_sse(request, events, done=None, encode=sse_typed_event))
    answer = await gw.inference.create(ctx, model, TASK, "chat", chat)
    return JSONResponse(anthropic.message_object(model.id, ctx.request_id, answer))


async def count_tokens(request: Request) -> Response:
    """Not an inference: nothing is charged or recorded."""
    gw, ctx = await begin(request, "messages_count_tokens", key_header="x-api-key")
    body = await read_json_object(request, gw.settings.max_body_bytes)
    req = COUNT.validate(body, deepest=True)
    model = gw.inference.resolve(ctx, req.model, TASK)
    tokens, exact = await gw.inference.count_prompt(model, anthropic.to_chat(req, model))
    method = "exact" if exact else "estimate"
    return JSONResponse({"input_tokens": tokens, "count": method}, headers={COUNT_HEADER: method})


ROUTES = [
    FamilyRoute("/v1/messages", create_message, family=ANTHROPIC, methods=["POST"], api=MESSAGES),
    FamilyRoute(
        "/v1/messages/count_tokens", count_tokens, family=ANTHROPIC, methods=["POST"], api=COUNT
    ),
]
