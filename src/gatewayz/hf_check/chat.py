"""Probes of chat (``conversational``) and text generation: the answer, the stream and
its first token within 5 s, and for chat, tool calling and structured output."""

from __future__ import annotations

import json
import time
from typing import Any

from gatewayz.hf_check.outcome import Outcome, reason_of
from gatewayz.hf_check.probes import CLIENT, CallProbe, TaskProbe, attempt, skipped, verdict, within
from gatewayz.hf_check.target import Target

# Hugging Face's bound on the first streamed token of chat and text generation models.
FIRST_TOKEN_BOUND_S = 5.0
MAX_TOKENS = 24
# Room for a tool call or a small JSON object (the probes ask for two short fields).
MAX_STRUCTURED_TOKENS = 64

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "the city's name"}},
            "required": ["city"],
        },
    },
}
NEEDS_TOOL = "What is the weather in Paris right now? Use the get_weather tool."
NEEDS_NO_TOOL = "Say hello to me in one short sentence. Do not call any tool."
PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def schema_errors(value: Any, schema: dict[str, Any]) -> str | None:
    """Why ``value`` does not validate against ``schema``, or None."""
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(value)
    )
    return None if error is None else f"{error.message} (at {error.json_path})"


def _json_of(text: Any) -> tuple[Any, str | None]:
    if isinstance(text, dict):  # some clients hand tool arguments back parsed
        return text, None
    try:
        return json.loads(text), None
    except (TypeError, ValueError):
        return None, f"not JSON: {str(text)[:80]!r}"


def _message_shape(output: Any) -> str | None:
    if not output.choices:
        return "choices is empty"
    message = output.choices[0].message
    if not isinstance(message.content, str) and not message.tool_calls:
        return "the message has neither content nor tool calls"
    return None


def _stream(target: Target, probe: str, chunks_of: Any) -> list[Outcome]:
    """Read a stream: the first token's delay, the whole stream parsed, the id."""
    target.ids.start()
    started = time.monotonic()
    first: float | None = None
    text = ""
    try:
        for piece in chunks_of():
            if piece and first is None:
                first = time.monotonic() - started
            text += piece
    # The client's error is the probe's finding (see probes.Attempt).
    except Exception as exc:
        return [
            Outcome(probe, CLIENT, "fail", reason_of(exc)),
            *skipped(("first_token", "inference_id_stream"), "the stream failed"),
        ]
    stream_id = target.ids.last()
    return [
        verdict(probe, None if text else "the stream carried no text"),
        within("first_token", first, FIRST_TOKEN_BOUND_S),
        Outcome("inference_id_stream", CLIENT, "pass")
        if stream_id
        else Outcome("inference_id_stream", CLIENT, "fail", "the stream has no Inference-Id"),
    ]


class Conversational(TaskProbe):
    task = "conversational"

    def run(self, target: Target) -> list[Outcome]:
        client = target.chat_client()

        def chat(max_tokens: int = MAX_TOKENS, **kwargs: Any) -> Any:
            return client.chat_completion(model=target.model, max_tokens=max_tokens, **kwargs)

        first = attempt(target, "call", lambda: chat(messages=_user("Say hello.")))
        if first.failed is not None:
            rest = ("shape", "inference_id", "stream", "first_token", "inference_id_stream")
            return [first.failed, *skipped(rest)]
        outcomes = [
            first.passed("call"),
            verdict("shape", _message_shape(first.output)),
            first.inference_id(),
        ]

        def deltas() -> Any:
            for chunk in chat(messages=_user("Say hello."), stream=True):
                if chunk.choices:
                    yield chunk.choices[0].delta.content or ""

        outcomes += _stream(target, "stream", deltas)
        outcomes += [self._tool_call(target, chat), self._no_tool_call(target, chat)]
        return [*outcomes, self._json_schema(target, chat)]

    def _tool_call(self, target: Target, chat: Any) -> Outcome:
        tools = [WEATHER_TOOL]
        tried = attempt(
            target,
            "tool_call",
            lambda: chat(
                MAX_STRUCTURED_TOKENS, messages=_user(NEEDS_TOOL), tools=tools, tool_choice="auto"
            ),
        )
        if tried.failed is not None:
            return tried.failed
        calls = tried.output.choices[0].message.tool_calls if tried.output.choices else None
        if not calls:
            said = (
                (tried.output.choices[0].message.content or "")[:60] if tried.output.choices else ""
            )
            return Outcome(
                "tool_call",
                CLIENT,
                "fail",
                f"no tool call with tool_choice auto; answered {said!r}",
            )
        function = calls[0].function
        if function.name != "get_weather":
            return Outcome("tool_call", CLIENT, "fail", f"called an unknown tool {function.name!r}")
        arguments, why = _json_of(function.arguments)
        why = why or schema_errors(arguments, WEATHER_TOOL["function"]["parameters"])
        if why is not None:
            return Outcome("tool_call", CLIENT, "fail", f"the call's arguments: {why}")
        return tried.passed("tool_call")

    def _no_tool_call(self, target: Target, chat: Any) -> Outcome:
        tried = attempt(
            target,
            "no_tool_call",
            lambda: chat(messages=_user(NEEDS_NO_TOOL), tools=[WEATHER_TOOL], tool_choice="auto"),
        )
        if tried.failed is not None:
            return tried.failed
        message = tried.output.choices[0].message if tried.output.choices else None
        if message is None or message.tool_calls:
            return Outcome(
                "no_tool_call", CLIENT, "fail", "called a tool for a prompt that needs none"
            )
        if not _text_of(message.content):
            return Outcome("no_tool_call", CLIENT, "fail", "answered no text")
        return tried.passed("no_tool_call")

    def _json_schema(self, target: Target, chat: Any) -> Outcome:
        fmt = {
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON_SCHEMA, "strict": True},
        }
        prompt = _user("Invent a person: give a name and an age as JSON.")
        tried = attempt(
            target,
            "json_schema",
            lambda: chat(MAX_STRUCTURED_TOKENS, messages=prompt, response_format=fmt),
        )
        if tried.failed is not None:
            return tried.failed
        content = tried.output.choices[0].message.content if tried.output.choices else None
        value, why = _json_of(content)
        why = why or schema_errors(value, PERSON_SCHEMA)
        if why is not None:
            return Outcome("json_schema", CLIENT, "fail", f"the answer: {why}")
        return tried.passed("json_schema")


def _text_of(content: Any) -> bool:
    return isinstance(content, str) and bool(content.strip())


class TextGeneration(CallProbe):
    task = "text-generation"
    PROMPT = "The capital of France is"

    def call(self, client: Any) -> Any:
        return client.text_generation(self.PROMPT, max_new_tokens=MAX_TOKENS)

    def shape(self, output: Any) -> str | None:
        return None if isinstance(output, str) else "expected the generated text"

    def run(self, target: Target) -> list[Outcome]:
        client = target.task_client()
        first = attempt(target, "call", lambda: self.call(client))
        if first.failed is not None:
            rest = ("shape", "inference_id", "stream", "first_token", "inference_id_stream")
            return [first.failed, *skipped(rest)]
        outcomes = [
            first.passed("call"),
            verdict("shape", self.shape(first.output)),
            first.inference_id(),
        ]

        def tokens() -> Any:
            for token in client.text_generation(
                self.PROMPT, max_new_tokens=MAX_TOKENS, stream=True
            ):
                yield token if isinstance(token, str) else ""

        return [*outcomes, *_stream(target, "stream", tokens)]
