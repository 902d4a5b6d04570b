"""The structured-output chat helper: a task served by a chat model answering JSON that
matches a schema, converted to the task's HF shape by each task's ``convert``."""

from __future__ import annotations

import json
from abc import abstractmethod
from typing import Any, ClassVar

from gatewayz.errors import UpstreamBadResponse
from gatewayz.money import Usage
from gatewayz.schemas.usage import usage_of
from gatewayz.tasks.base import JSON, STRUCTURED_MAX_TOKENS, TaskRequest, TaskResult
from gatewayz.upstreams.helpers import Call, JSONDict, JSONTaskHelper

CHAT_PATH = "/chat/completions"


def response_format(style: str, name: str, schema: JSONDict) -> JSONDict:
    """How a server takes a JSON schema: OpenAI's standard form (OpenAI, vLLM, TGI), or
    llama.cpp's ``json_object`` + ``schema``."""
    if style == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": schema},
        }
    return {"type": "json_object", "schema": schema}


class StructuredChatTask(JSONTaskHelper):
    """Asks a chat model for JSON matching ``schema`` and converts it with ``convert``."""

    instruction: ClassVar[str]

    @abstractmethod
    def schema(self, req: TaskRequest) -> JSONDict: ...

    def prompt(self, req: TaskRequest) -> str:
        return str(req.inputs)

    @abstractmethod
    def convert(self, data: Any, req: TaskRequest) -> JSON: ...

    def prepare(self, model: str, req: TaskRequest) -> Call:
        """The standard ``json_schema`` form, with llama.cpp's form as the fallback for a
        server that rejects it (its error names ``json_schema``)."""
        payload = {
            "model": model,
            "messages": [
                {"role": "system", "content": self.instruction + " Reply with JSON only."},
                {"role": "user", "content": self.prompt(req)},
            ],
            "temperature": 0,
            "max_tokens": STRUCTURED_MAX_TOKENS,
        }
        name, schema = self.task.replace("-", "_"), self.schema(req)

        def form(style: str) -> JSONDict:
            return {**payload, "response_format": response_format(style, name, schema)}

        fallback = Call(CHAT_PATH, form("json_object"))
        return Call(CHAT_PATH, form("json_schema"), fallback=fallback, fallback_when="json_schema")

    def parse_json(self, answer: JSONDict, req: TaskRequest) -> TaskResult:
        choices = answer.get("choices")
        if not isinstance(choices, list):
            raise UpstreamBadResponse("the upstream answered without 'choices'")
        first = (choices or [{}])[0]
        message = (first.get("message") if isinstance(first, dict) else None) or {}
        content = message.get("content") if isinstance(message, dict) else None
        return TaskResult(
            output=self.convert(self._decode(content), req), usage=usage_of(answer) or Usage()
        )

    def _decode(self, content: Any) -> Any:
        # Grammar-constrained servers can emit raw control characters inside strings:
        # accepted (``strict=False``), since the structure is what was asked for.
        try:
            return json.loads(content if isinstance(content, str) else "", strict=False)
        except json.JSONDecodeError:
            raise UpstreamBadResponse(
                f"the upstream's {self.task} answer is not the JSON asked for"
            ) from None
