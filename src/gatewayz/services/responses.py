"""OpenAI's Responses API, translated to and from a chat completion.

A request becomes a chat completion body (so every upstream kind serves it, metered and
limited by the same service call as ``/v1/chat/completions``); the chat answer, or its
stream of chunks, becomes a response object, or the Responses event stream. Stateless:
no response is kept (every answer says ``"store": false``), so ``previous_response_id``
is refused; a conversation is continued by sending its items back as ``input``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

from gatewayz.config import ModelConfig
from gatewayz.errors import InvalidRequest
from gatewayz.schemas.responses import (
    ContentPart,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputImage,
    MessageItem,
    Refusal,
    ResponsesRequest,
)
from gatewayz.services.response_format import canonical_response_format
from gatewayz.services.streams import chat_deltas, prepend
from gatewayz.upstreams.base import JSONDict


def to_chat(req: ResponsesRequest, model: ModelConfig) -> JSONDict:
    """The chat completion body that asks ``model`` what ``req`` asks."""
    if req.previous_response_id is not None:
        raise InvalidRequest(
            "previous_response_id: the gateway keeps no responses (store: false); "
            "send the earlier items back in input instead"
        )
    if req.max_output_tokens is not None and req.max_output_tokens > model.context_length:
        raise InvalidRequest(
            f"max_output_tokens: {req.max_output_tokens} is more than the context of model "
            f"{model.id!r} ({model.context_length} tokens)"
        )
    messages: list[JSONDict] = []
    if req.instructions:
        messages.append({"role": "system", "content": req.instructions})
    if isinstance(req.input, str):
        messages.append({"role": "user", "content": req.input})
    else:
        _append_items(messages, req.input)
    if not messages:
        raise InvalidRequest("input: give at least one message")
    body: JSONDict = {"messages": messages}
    for chat_name, value in (
        ("max_tokens", req.max_output_tokens),
        ("temperature", req.temperature),
        ("top_p", req.top_p),
        ("parallel_tool_calls", req.parallel_tool_calls),
    ):
        if value is not None:
            body[chat_name] = value
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": t.parameters or {"type": "object", "properties": {}},
                    **({"strict": t.strict} if t.strict is not None else {}),
                },
            }
            for t in req.tools
        ]
    if isinstance(req.tool_choice, str):
        body["tool_choice"] = req.tool_choice
    elif req.tool_choice is not None:
        body["tool_choice"] = {"type": "function", "function": {"name": req.tool_choice.name}}
    response_format = _response_format(req)
    if response_format is not None:
        body["response_format"] = response_format
    return body


def _response_format(req: ResponsesRequest) -> JSONDict | None:
    """``text.format`` as a chat ``response_format``, in OpenAI's form whichever dialect
    it came in (a json_schema's name is ``schema`` when none is given)."""
    fmt = req.text.format if req.text is not None else None
    if fmt is None or fmt.type == "text":
        return None
    raw: JSONDict = {"type": fmt.type}
    if fmt.value is not None:
        raw["value"] = fmt.value
    for key, value in (
        ("name", fmt.name),
        ("description", fmt.description),
        ("strict", fmt.strict),
        ("schema", fmt.schema_),
    ):
        if value is not None:  # flat beside the type, as the Responses API has them
            raw[key] = value
    return canonical_response_format(raw, "text.format")


def _part_text(part: ContentPart) -> str:
    return part.refusal if isinstance(part, Refusal) else getattr(part, "text", "")


def _text_or_parts(content: str | list[ContentPart]) -> Any:
    """Plain text when every part is text (what every chat template takes), else parts."""
    if isinstance(content, str):
        return content
    if not any(isinstance(p, InputImage) for p in content):
        return "\n".join(_part_text(p) for p in content)
    return [
        {"type": "image_url", "image_url": {"url": p.image_url}}
        if isinstance(p, InputImage)
        else {"type": "text", "text": _part_text(p)}
        for p in content
    ]


def _append_items(messages: list[JSONDict], items: list[Any]) -> None:
    calls: set[str] = set()
    for i, item in enumerate(items):
        if isinstance(item, MessageItem):
            role = "system" if item.role == "developer" else item.role
            content = _text_or_parts(item.content)
            if role != "user" and not isinstance(content, str):
                raise InvalidRequest(f"input[{i}].content: only user messages may hold images")
            messages.append({"role": role, "content": content})
        elif isinstance(item, FunctionCallItem):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            calls.add(item.call_id)
        elif isinstance(item, FunctionCallOutputItem):
            if item.call_id not in calls:
                raise InvalidRequest(
                    f"input[{i}].call_id: no function_call item with call_id "
                    f"{item.call_id!r} comes before this output"
                )
            output = _text_or_parts(item.output)
            if not isinstance(output, str):
                raise InvalidRequest(f"input[{i}].output: a function's output is text only")
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": output})
        # A reasoning item carries nothing a chat model takes.


# --- the answer ---------------------------------------------------------------------------


def _ids(request_id: str) -> str:
    return request_id.replace("-", "")


def _usage(usage: Any) -> JSONDict | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = (
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
    )
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _status(finish_reason: object) -> tuple[str, JSONDict | None]:
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


class _Envelope:
    """The fields every response object of one request repeats."""

    def __init__(self, req: ResponsesRequest, model_id: str, request_id: str) -> None:
        self.req = req
        self.model_id = model_id
        self.id = "resp_" + _ids(request_id)
        self.item_id = _ids(request_id)
        self.created_at = int(time.time())

    def response(
        self,
        status: str,
        output: list[JSONDict],
        usage: JSONDict | None = None,
        incomplete: JSONDict | None = None,
    ) -> JSONDict:
        req = self.req
        fmt = req.text.format if req.text is not None and req.text.format else None
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": None,
            "incomplete_details": incomplete,
            "instructions": req.instructions,
            "max_output_tokens": req.max_output_tokens,
            "model": self.model_id,
            "output": output,
            "parallel_tool_calls": req.parallel_tool_calls is not False,
            "previous_response_id": None,
            "store": False,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "text": {
                "format": fmt.model_dump(by_alias=True, exclude_none=True)
                if fmt
                else {"type": "text"}
            },
            "tool_choice": (
                req.tool_choice
                if isinstance(req.tool_choice, str)
                else req.tool_choice.model_dump()
                if req.tool_choice is not None
                else "auto"
            ),
            "tools": [t.model_dump(exclude_none=True) for t in req.tools or ()],
            "usage": usage,
            "metadata": req.metadata or {},
        }

    def message(self, text: str, status: str = "completed") -> JSONDict:
        return {
            "id": "msg_" + self.item_id,
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": [_text_part(text)] if status == "completed" or text else [],
        }

    def function_call(self, n: int, call: JSONDict, status: str = "completed") -> JSONDict:
        function = call.get("function") or {}
        return {
            "id": f"fc_{self.item_id}_{n}",
            "type": "function_call",
            "status": status,
            "call_id": str(call.get("id") or f"call_{self.item_id}_{n}"),
            "name": str(function.get("name") or ""),
            "arguments": str(function.get("arguments") or ""),
        }


def _text_part(text: str) -> JSONDict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_object(
    req: ResponsesRequest, model_id: str, request_id: str, answer: JSONDict
) -> JSONDict:
    """The response object of a chat completion ``answer`` (usage already the billed one)."""
    env = _Envelope(req, model_id, request_id)
    choices = answer.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    output: list[JSONDict] = []
    if message.get("content"):
        output.append(env.message(str(message["content"])))
    for n, call in enumerate(message.get("tool_calls") or ()):
        if isinstance(call, dict):
            output.append(env.function_call(n, call))
    status, incomplete = _status(choice.get("finish_reason"))
    return env.response(status, output, _usage(answer.get("usage")), incomplete)


class _EventStream:
    """Turns chat chunks into Responses events, one output item open at a time: the
    message's text, or one function call."""

    def __init__(self, env: _Envelope) -> None:
        self.env = env
        self.seq = itertools.count()
        self.output: list[JSONDict] = []
        self.text: list[str] | None = None  # the open message's text
        self.call: JSONDict | None = None  # the open function call item
        self.call_index: object = None  # its index among the chunks' tool calls

    def event(self, type_: str, **fields: Any) -> JSONDict:
        return {"type": type_, "sequence_number": next(self.seq), **fields}

    def _where(self) -> JSONDict:
        index = len(self.output) - 1
        return {"item_id": self.output[index]["id"], "output_index": index, "content_index": 0}

    def text_delta(self, content: str) -> list[JSONDict]:
        events = []
        if self.text is None:
            events = self.close()
            self.text = []
            self.output.append(self.env.message("", status="in_progress"))
            index = len(self.output) - 1
            added = self.event(
                "response.output_item.added", output_index=index, item=self.output[index]
            )
            events += [
                added,
                self.event("response.content_part.added", **self._where(), part=_text_part("")),
            ]
        self.text.append(content)
        events.append(
            self.event("response.output_text.delta", **self._where(), delta=content, logprobs=[])
        )
        return events

    def tool_call_delta(self, tool_call: JSONDict) -> list[JSONDict]:
        events = []
        if self.call is None or tool_call.get("index", self.call_index) != self.call_index:
            events = self.close()
            self.call_index = tool_call.get("index")
            self.call = self.env.function_call(len(self.output), tool_call, status="in_progress")
            self.call["arguments"] = ""
            self.output.append(self.call)
            index = len(self.output) - 1
            events.append(
                self.event("response.output_item.added", output_index=index, item=self.call)
            )
        piece = (tool_call.get("function") or {}).get("arguments")
        if piece:
            self.call["arguments"] += str(piece)
            where = self._where()
            del where["content_index"]
            events.append(
                self.event("response.function_call_arguments.delta", **where, delta=str(piece))
            )
        return events

    def close(self) -> list[JSONDict]:
        """The events that finish the open item, if any."""
        events: list[JSONDict] = []
        index = len(self.output) - 1
        if self.text is not None:
            item = self.output[index] = self.env.message("".join(self.text))
            part = item["content"][0]
            where = self._where()
            events.append(
                self.event("response.output_text.done", **where, text=part["text"], logprobs=[])
            )
            events.append(self.event("response.content_part.done", **where, part=part))
            events.append(self.event("response.output_item.done", output_index=index, item=item))
            self.text = None
        if self.call is not None:
            call, self.call = self.call, None
            call["status"] = "completed"
            events.append(
                self.event(
                    "response.function_call_arguments.done",
                    item_id=call["id"],
                    output_index=index,
                    arguments=call["arguments"],
                )
            )
            events.append(self.event("response.output_item.done", output_index=index, item=call))
        return events


async def response_events(
    req: ResponsesRequest, model_id: str, request_id: str, chunks: AsyncIterator[JSONDict]
) -> AsyncIterator[JSONDict]:
    """The Responses event stream of a chat completion stream. Nothing is sent before
    the upstream's first chunk, so a failure to start is still an HTTP error status."""
    first = await anext(chunks, None)
    env = _Envelope(req, model_id, request_id)
    out = _EventStream(env)
    usage: JSONDict | None = None
    finish: object = None
    yield out.event("response.created", response=env.response("in_progress", []))
    yield out.event("response.in_progress", response=env.response("in_progress", []))
    async for delta in chat_deltas(prepend(first, chunks)):
        usage = _usage(delta.usage) or usage
        if delta.text:
            for event in out.text_delta(delta.text):
                yield event
        for tool_call in delta.tool_calls:
            for event in out.tool_call_delta(tool_call):
                yield event
        finish = delta.finish_reason or finish
    for event in out.close():
        yield event
    status, incomplete = _status(finish)
    final = env.response(status, out.output, usage, incomplete)
    yield out.event(f"response.{status}", response=final)
