"""The interface of an OpenAI-upstream task helper, and the structured-output chat helper."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from gatewayz.errors import UpstreamBadResponse, UpstreamRejected
from gatewayz.money import Usage
from gatewayz.tasks.base import JSON, TaskRequest, TaskResult

if TYPE_CHECKING:
    from gatewayz.upstreams.base import JSONDict, Stopwatch
    from gatewayz.upstreams.openai import OpenAIUpstream


# The longest structured answer a chat model may give for a task (also the credit bound).
STRUCTURED_MAX_TOKENS = 512


class OpenAITaskHelper(ABC):
    task: ClassVar[str]

    @abstractmethod
    async def run(
        self, upstream: OpenAIUpstream, model: str, req: TaskRequest, watch: Stopwatch
    ) -> TaskResult: ...


def token_usage(answer: JSONDict) -> Usage:
    usage = answer.get("usage") or {}
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    return Usage(
        input_tokens=prompt if isinstance(prompt, int) and prompt >= 0 else 0,
        output_tokens=completion if isinstance(completion, int) and completion >= 0 else 0,
    )


class StructuredChatTask(OpenAITaskHelper):
    """Asks a chat model for JSON matching ``schema`` and converts it with ``convert``."""

    instruction: ClassVar[str]

    @abstractmethod
    def schema(self, req: TaskRequest) -> JSONDict: ...

    def prompt(self, req: TaskRequest) -> str:
        return str(req.inputs)

    @abstractmethod
    def convert(self, data: Any, req: TaskRequest) -> JSON: ...

    async def run(
        self, upstream: OpenAIUpstream, model: str, req: TaskRequest, watch: Stopwatch
    ) -> TaskResult:
        payload = {
            "model": model,
            "messages": [
                {"role": "system", "content": self.instruction + " Reply with JSON only."},
                {"role": "user", "content": self.prompt(req)},
            ],
            "temperature": 0,
            "max_tokens": STRUCTURED_MAX_TOKENS,
        }
        schema = self.schema(req)
        answer = await _structured_chat(
            upstream, payload, self.task.replace("-", "_"), schema, watch
        )
        choices = answer.get("choices") or [{}]
        content = ((choices[0] or {}).get("message") or {}).get("content")
        return TaskResult(output=self.convert(self._parse(content), req), usage=token_usage(answer))

    def _parse(self, content: Any) -> Any:
        # Grammar-constrained servers can emit raw control characters inside strings:
        # accepted (``strict=False``), since the structure is what was asked for.
        try:
            return json.loads(content if isinstance(content, str) else "", strict=False)
        except json.JSONDecodeError:
            raise UpstreamBadResponse(
                f"the upstream's {self.task} answer is not the JSON asked for"
            ) from None


def _response_format(style: str, name: str, schema: JSONDict) -> JSONDict:
    if style == "json_schema":  # OpenAI, vLLM, TGI
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": schema},
        }
    return {"type": "json_object", "schema": schema}  # llama.cpp's servers


async def _structured_chat(
    upstream: OpenAIUpstream, payload: JSONDict, name: str, schema: JSONDict, watch: Stopwatch
) -> JSONDict:
    """A chat completion constrained to ``schema``. Servers differ in how they take a
    schema: the standard ``json_schema`` form is tried first, and an upstream that rejects
    it is asked with llama.cpp's ``json_object`` + ``schema`` form from then on."""
    style = upstream.structured_style
    try:
        return await upstream.create(
            "chat", {**payload, "response_format": _response_format(style, name, schema)}, watch
        )
    except (UpstreamRejected, UpstreamBadResponse) as exc:
        if style != "json_schema" or "json_schema" not in exc.message:
            raise
    upstream.structured_style = "json_object"
    return await upstream.create(
        "chat",
        {**payload, "response_format": _response_format("json_object", name, schema)},
        watch,
    )
