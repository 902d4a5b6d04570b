"""Anthropic's Messages API, translated to and from a chat completion.

A request becomes a chat completion body (so every upstream kind serves it, metered and
limited by the same service call as ``/v1/chat/completions``); the chat answer, or its
stream of chunks, becomes a message, or Anthropic's event stream. ``tool_result`` blocks
become ``tool`` messages placed before the rest of their user turn, as chat servers
expect. A chat answer does not say which stop sequence ended it: ``stop_sequence`` is
always null and such a stop is reported as ``end_turn``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from gatewayz.config import ModelConfig
from gatewayz.errors import InvalidRequest
from gatewayz.schemas.anthropic import (
    ImageBlock,
    Message,
    MessagesRequest,
    Prompt,
    TextBlock,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
)
from gatewayz.services.response_format import canonical_response_format
from gatewayz.services.streams import chat_deltas, prepend
from gatewayz.upstreams.base import JSONDict

_STOP_REASONS = {"length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use"}


def to_chat(req: Prompt, model: ModelConfig) -> JSONDict:
    """The chat completion body that asks ``model`` what ``req`` asks."""
    messages: list[JSONDict] = []
    if req.system:
        system = req.system if isinstance(req.system, str) else _joined(req.system)
        messages.append({"role": "system", "content": system})
    previous_calls: set[str] = set()
    for i, message in enumerate(req.messages):
        where = f"messages[{i}]"
        if message.role == "assistant":
            messages.append(_assistant(message, where))
            previous_calls = {c["id"] for c in messages[-1].get("tool_calls", ())}
        else:
            messages.extend(_user(message, where, previous_calls))
            previous_calls = set()
    body: JSONDict = {"messages": messages}
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": t.input_schema,
                },
            }
            for t in req.tools
        ]
    if req.tool_choice is not None:
        body.update(_tool_choice(req.tool_choice))
    fmt = req.output_config.format if req.output_config is not None else None
    if fmt is not None:  # sent to each upstream in its own dialect, as a response_format
        raw = {"type": "json_schema", "json_schema": {"name": "schema", "schema": fmt.schema_}}
        body["response_format"] = canonical_response_format(raw, "output_config.format")
    if isinstance(req, MessagesRequest):
        if req.max_tokens > model.context_length:
            raise InvalidRequest(
                f"max_tokens: {req.max_tokens} is more than the context of model "
                f"{model.id!r} ({model.context_length} tokens)"
            )
        body["max_tokens"] = req.max_tokens
        for chat_name, value in (
            ("stop", req.stop_sequences or None),
            ("temperature", req.temperature),
            ("top_p", req.top_p),
            ("top_k", req.top_k),
        ):
            if value is not None:
                body[chat_name] = value
    return body


def _joined(blocks: list[TextBlock]) -> str:
    return "\n".join(b.text for b in blocks)


def _assistant(message: Message, where: str) -> JSONDict:
    if isinstance(message.content, str):
        return {"role": "assistant", "content": message.content}
    texts: list[str] = []
    calls: list[JSONDict] = []
    for j, block in enumerate(message.content):
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlock):
            arguments = orjson.dumps(block.input).decode()
            calls.append(
                {
                    "id": block.id,
                    "type": "function",
                    "function": {"name": block.name, "arguments": arguments},
                }
            )
        else:
            raise InvalidRequest(
                f"{where}.content[{j}]: an assistant message holds text and tool_use blocks, "
                f"not {block.type}"
            )
    out: JSONDict = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        out["tool_calls"] = calls
    return out


def _user(message: Message, where: str, previous_calls: set[str]) -> list[JSONDict]:
    if isinstance(message.content, str):
        return [{"role": "user", "content": message.content}]
    results: list[JSONDict] = []
    parts: list[JSONDict] = []
    for j, block in enumerate(message.content):
        if isinstance(block, ToolResultBlock):
            if block.tool_use_id not in previous_calls:
                raise InvalidRequest(
                    f"{where}.content[{j}].tool_use_id: no tool_use block with id "
                    f"{block.tool_use_id!r} in the assistant message just before"
                )
            output = block.content if isinstance(block.content, str) else _joined(block.content)
            if block.is_error:
                output = f"error: {output}"
            results.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": output})
        elif isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            source = block.source
            url = (
                source.url
                if source.type == "url"
                else f"data:{source.media_type};base64,{source.data}"
            )
            parts.append({"type": "image_url", "image_url": {"url": url}})
        else:
            raise InvalidRequest(
                f"{where}.content[{j}]: a user message holds text, image and tool_result "
                f"blocks, not {block.type}"
            )
    if parts:
        text_only = all(p["type"] == "text" for p in parts)
        content: Any = "\n".join(p["text"] for p in parts) if text_only else parts
        results.append({"role": "user", "content": content})
    return results


def _tool_choice(choice: ToolChoice) -> JSONDict:
    out: JSONDict = {}
    if choice.type == "tool":
        if choice.name is None:
            raise InvalidRequest("tool_choice.name: required when type is 'tool'")
        out["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    else:
        out["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[choice.type]
    if choice.disable_parallel_tool_use:
        out["parallel_tool_calls"] = False
    return out


# --- the answer ---------------------------------------------------------------------------


def _usage(usage: Any) -> JSONDict:
    usage = usage if isinstance(usage, dict) else {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def _stop_reason(finish_reason: object, had_tool_calls: bool) -> str:
    if had_tool_calls and finish_reason != "length":
        return "tool_use"
    return _STOP_REASONS.get(str(finish_reason), "end_turn")


def _tool_input(arguments: object) -> JSONDict:
    """A tool call's arguments as the object Anthropic's ``input`` is; text that is not
    a JSON object (a model's mistake) is kept under ``arguments``."""
    try:
        parsed = orjson.loads(str(arguments or "{}"))
    except orjson.JSONDecodeError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"arguments": str(arguments)}


def message_id(request_id: str) -> str:
    return "msg_" + request_id.replace("-", "")


def message_object(model_id: str, request_id: str, answer: JSONDict) -> JSONDict:
    """The message of a chat completion ``answer`` (usage already the billed one)."""
    choices = answer.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[JSONDict] = []
    if message.get("content"):
        content.append({"type": "text", "text": str(message["content"])})
    calls = [c for c in message.get("tool_calls") or () if isinstance(c, dict)]
    for n, call in enumerate(calls):
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": str(call.get("id") or f"toolu_{n}"),
                "name": str(function.get("name") or ""),
                "input": _tool_input(function.get("arguments")),
            }
        )
    return {
        "id": message_id(request_id),
        "type": "message",
        "role": "assistant",
        "model": model_id,
        "content": content,
        "stop_reason": _stop_reason(choice.get("finish_reason"), bool(calls)),
        "stop_sequence": None,
        "usage": _usage(answer.get("usage")),
    }


class _BlockStream:
    """Turns chat chunks into content block events, one block open at a time: text, or
    one tool use."""

    def __init__(self) -> None:
        self.index = -1
        self.open: str | None = None  # "text" or "tool_use"
        self.call_index: object = None  # the open tool use's index among the tool calls
        self.had_calls = False

    def _start(self, kind: str, block: JSONDict) -> list[JSONDict]:
        events = self.close()
        self.index, self.open = self.index + 1, kind
        events.append({"type": "content_block_start", "index": self.index, "content_block": block})
        return events

    def _delta(self, delta: JSONDict) -> JSONDict:
        return {"type": "content_block_delta", "index": self.index, "delta": delta}

    def text_delta(self, text: str) -> list[JSONDict]:
        events = [] if self.open == "text" else self._start("text", {"type": "text", "text": ""})
        return [*events, self._delta({"type": "text_delta", "text": text})]

    def tool_call_delta(self, call: JSONDict) -> list[JSONDict]:
        function = call.get("function") or {}
        events = []
        if self.open != "tool_use" or call.get("index", self.call_index) != self.call_index:
            block = {
                "type": "tool_use",
                "id": str(call.get("id") or f"toolu_{self.index + 1}"),
                "name": str(function.get("name") or ""),
                "input": {},
            }
            events = self._start("tool_use", block)
            self.call_index, self.had_calls = call.get("index"), True
        if function.get("arguments"):
            delta = {"type": "input_json_delta", "partial_json": str(function["arguments"])}
            events.append(self._delta(delta))
        return events

    def close(self) -> list[JSONDict]:
        """The event that ends the open block, if any."""
        if self.open is None:
            return []
        self.open = None
        return [{"type": "content_block_stop", "index": self.index}]


async def message_events(
    model_id: str, request_id: str, chunks: AsyncIterator[JSONDict]
) -> AsyncIterator[JSONDict]:
    """Anthropic's event stream of a chat completion stream. Nothing is sent before the
    upstream's first chunk, so a failure to start is still an HTTP error status."""
    first = await anext(chunks, None)
    start = message_object(model_id, request_id, {})
    yield {"type": "message_start", "message": {**start, "stop_reason": None}}
    yield {"type": "ping"}
    blocks = _BlockStream()
    usage: JSONDict = _usage(None)
    finish: object = None
    async for delta in chat_deltas(prepend(first, chunks)):
        if isinstance(delta.usage, dict):
            usage = _usage(delta.usage)
        if delta.text:
            for event in blocks.text_delta(delta.text):
                yield event
        for call in delta.tool_calls:
            for event in blocks.tool_call_delta(call):
                yield event
        finish = delta.finish_reason or finish
    for event in blocks.close():
        yield event
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(finish, blocks.had_calls), "stop_sequence": None},
        "usage": usage,
    }
    yield {"type": "message_stop"}
