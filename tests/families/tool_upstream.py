"""A small, deterministic OpenAI-compatible chat upstream that calls tools and answers in
JSON (run by uvicorn as its own process), for the Responses and Messages tests:

- with ``tools`` and no tool result after the last user turn, it calls the first tool (or
  the one ``tool_choice`` names), its arguments made from the tool's JSON schema
  (``"Paris"`` for a string, ``3`` for a number, ``true`` for a boolean);
- after a tool result it answers ``the tool said: <result>``;
- with a ``json_schema`` response format (or TGI's ``json_object`` with the schema in
  ``value``) it answers an object made from the schema;
- otherwise it answers ``you said: <last user text>``.

``POST /v1/responses`` speaks the Responses API itself: it answers ``responses api says:
<input text>`` (``input_tokens``: words of the input and instructions), streamed as
``response.created``, the message's ``output_item.added`` and ``content_part.added``, one
``response.output_text.delta`` per word, ``output_item.done``, ``response.completed``.

The upstream model ``slow`` streams a word every ``SLOW_WORD_S`` seconds; ``cutoff``
hangs up after its second chunk, without ending the stream. For ``gatewayz hf check``:
``decider`` calls a tool under ``tool_choice: auto`` only when the user's text names it;
``notools`` ignores tools and response formats; ``badjson`` answers a response format with
broken JSON; ``slowstart`` streams its first chunk after ``SLOW_START_S`` seconds.

An answer is cut at ``max_tokens`` words (``finish_reason: length``) and before the first
``stop`` string. ``prompt_tokens`` is the number of words in the messages (their text and
tool calls), ``completion_tokens`` the number of words answered; a stream sends one word
per chunk (tool arguments in two chunks). ``GET /last`` returns the last request body.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

SLOW_WORD_S = 0.05
SLOW_START_S = 5.5  # past Hugging Face's 5 s bound on a stream's first token
last_body: dict[str, Any] = {}


def _words(messages: list[dict[str, Any]]) -> int:
    total = 0
    for m in messages:
        total += len(str(m.get("content") or "").split())
        for call in m.get("tool_calls") or ():
            total += len(str(call["function"]["arguments"]).split())
    return total


def _value(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "object":
        return {k: _value(v) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_value(schema.get("items") or {"type": "string"})]
    return {"string": "Paris", "number": 3, "integer": 3, "boolean": True}.get(str(kind))


def _user_text(messages: list[dict[str, Any]]) -> str:
    user = next(m for m in reversed(messages) if m["role"] == "user")
    content = user["content"]
    if isinstance(content, list):
        content = " ".join(p.get("text", "[image]") for p in content)
    return str(content)


def _needs_tool(body: dict[str, Any], tools: list[dict[str, Any]]) -> bool:
    """Whether to call a tool: always when tools are offered, except for the ``decider``
    model under ``auto``, which calls one only when the user's text names it."""
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return False
    if body["model"] == "decider" and choice in (None, "auto"):
        text = _user_text(body["messages"])
        return any(t["function"]["name"] in text for t in tools)
    return True


def _answer(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(text, tool call or None)."""
    messages = body["messages"]
    model = body["model"]
    tools = [] if model == "notools" else body.get("tools") or []
    choice = body.get("tool_choice")
    if messages[-1]["role"] == "tool":
        return f"the tool said: {messages[-1]['content']}", None
    if _needs_tool(body, tools):
        wanted = choice["function"]["name"] if isinstance(choice, dict) else None
        tool = next((t for t in tools if t["function"]["name"] == wanted), tools[0])
        function = tool["function"]
        arguments = orjson.dumps(_value(function.get("parameters") or {})).decode()
        return "", {
            "id": f"call_{uuid.uuid4().hex[:8]}",
            "name": function["name"],
            "arguments": arguments,
        }
    fmt = {} if model == "notools" else body.get("response_format") or {}
    if fmt and model == "badjson":
        return '{"name": "Paris", "age": ', None
    if fmt.get("type") == "json_schema":
        return orjson.dumps(_value(fmt["json_schema"]["schema"])).decode(), None
    if fmt.get("type") == "json_object" and isinstance(fmt.get("value"), dict):  # TGI's form
        return orjson.dumps(_value(fmt["value"])).decode(), None
    return f"you said: {_user_text(messages)}", None


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


# Every upstream model it answers as described above (a route's model is checked against
# this list when it is mapped through the API).
MODELS = ("tooly", "slow", "cutoff", "decider", "notools", "badjson", "slowstart")


async def models(_request: Request) -> Response:
    return _json({"object": "list", "data": [{"id": m} for m in MODELS]})


async def last(_request: Request) -> Response:
    return _json(last_body)


async def chat(request: Request) -> Response:
    body = await request.json()
    last_body.clear()
    last_body.update(body)
    text, call = _answer(body)
    finish = "tool_calls" if call else "stop"
    for stop in [body["stop"]] if isinstance(body.get("stop"), str) else body.get("stop") or ():
        if stop in text:
            text = text[: text.index(stop)]
    words = text.split()
    limit = body.get("max_tokens")
    if limit is not None and len(words) > limit:
        words, finish = words[:limit], "length"
    text = " ".join(words)
    prompt = _words(body["messages"])
    completion = len(words) + (len(call["arguments"].split()) if call else 0)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    rid = f"chatcmpl-{uuid.uuid4().hex}"
    tool_calls = (
        [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
        ]
        if call
        else None
    )
    if not body.get("stream"):
        message = {"role": "assistant", "content": text or None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return _json(
            {
                "id": rid,
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }
        )

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        data = {
            "id": rid,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        return b"data: " + orjson.dumps(data) + b"\n\n"

    async def events() -> AsyncIterator[bytes]:
        if body["model"] == "slowstart":
            await asyncio.sleep(SLOW_START_S)
        yield chunk({"role": "assistant", "content": ""})
        for i, word in enumerate(words):
            if body["model"] == "slow":
                await asyncio.sleep(SLOW_WORD_S)
            if body["model"] == "cutoff" and i == 1:
                raise ConnectionAbortedError("the test upstream hangs up mid-stream")
            yield chunk({"content": word if i == 0 else " " + word})
        if call:
            half = len(call["arguments"]) // 2
            head = {
                "index": 0,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"][:half]},
            }
            yield chunk({"tool_calls": [head]})
            yield chunk(
                {"tool_calls": [{"index": 0, "function": {"arguments": call["arguments"][half:]}}]}
            )
        yield chunk({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            data = {
                "id": rid,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [],
                "usage": usage,
            }
            yield b"data: " + orjson.dumps(data) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def responses(request: Request) -> Response:
    body = await request.json()
    last_body.clear()
    last_body.update(body)
    given = (
        body["input"] if isinstance(body["input"], str) else orjson.dumps(body["input"]).decode()
    )
    words = f"responses api says: {given}".split()
    prompt = len(given.split()) + len(str(body.get("instructions") or "").split())
    usage = {
        "input_tokens": prompt,
        "output_tokens": len(words),
        "total_tokens": prompt + len(words),
    }
    rid = f"resp_{uuid.uuid4().hex}"
    part = {"type": "output_text", "text": " ".join(words), "annotations": []}
    item = {
        "id": f"msg_{rid}",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [part],
    }
    done = {
        "id": rid,
        "object": "response",
        "created_at": 0,
        "status": "completed",
        "model": body["model"],
        "output": [item],
        "usage": usage,
    }
    if not body.get("stream"):
        return _json(done)

    def event(data: dict[str, Any]) -> bytes:
        return b"event: " + data["type"].encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    async def events() -> AsyncIterator[bytes]:
        yield event(
            {
                "type": "response.created",
                "response": {**done, "status": "in_progress", "output": [], "usage": None},
            }
        )
        started = {**item, "status": "in_progress", "content": []}
        yield event({"type": "response.output_item.added", "output_index": 0, "item": started})
        where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
        empty = {**part, "text": ""}
        yield event({"type": "response.content_part.added", **where, "part": empty})
        for i, word in enumerate(words):
            yield event(
                {
                    "type": "response.output_text.delta",
                    "item_id": item["id"],
                    "output_index": 0,
                    "content_index": 0,
                    "delta": word if i == 0 else " " + word,
                }
            )
        yield event({"type": "response.output_item.done", "output_index": 0, "item": item})
        yield event({"type": "response.completed", "response": done})

    return StreamingResponse(events(), media_type="text/event-stream")


app = Starlette(
    routes=[
        Route("/v1/models", models, methods=["GET"]),
        Route("/last", last, methods=["GET"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
    ]
)
