"""An OpenAI-compatible chat server that takes a JSON schema only the way llama.cpp's
server does (``{"type": "json_object", "schema": ...}``) and refuses OpenAI's
``json_schema`` form with a 400 naming it, as such servers do.

It classifies sentiment by a word list (enough to tell "I love it" from "I hate it") and
records the ``response_format`` type of every request (``GET /v1/forms``), so a test can
see which form the gateway sent.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FORMS: list[str] = []
GOOD = {"love", "great", "wonderful", "excellent"}


async def chat(request: Request) -> JSONResponse:
    body = await request.json()
    form = (body.get("response_format") or {}).get("type", "none")
    FORMS.append(form)
    if form == "json_schema":
        error = {"message": "response_format type 'json_schema' is not supported", "type": "x"}
        return JSONResponse({"error": error}, status_code=400)
    if form != "json_object" or "schema" not in body["response_format"]:
        return JSONResponse({"error": {"message": "a schema is required"}}, status_code=400)
    text = body["messages"][-1]["content"].lower()
    positive = 0.9 if GOOD & set(text.replace(".", " ").split()) else 0.1
    labels = [
        {"label": "POSITIVE", "score": positive},
        {"label": "NEGATIVE", "score": 1 - positive},
    ]
    return JSONResponse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": json.dumps({"labels": labels})},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32},
        }
    )


async def forms(request: Request) -> JSONResponse:
    return JSONResponse(FORMS)


async def models(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [{"id": "sentiment", "object": "model"}]})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/forms", forms, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
    ]
)
