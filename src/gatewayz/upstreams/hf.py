"""Hugging Face-compatible upstreams: TGI, TEI, Inference Endpoints, another gateway.

``base_url`` is the server's root, or a template with ``{model}`` for servers that host
many models (e.g. ``http://host/models/{model}``). Task requests are passed through in the
HF format (``hf_tasks``) and the answer's shape is checked; chat and completions use the
OpenAI routes that TGI serves under ``/v1``; a ``response_format`` is sent in TGI's form
(``tgi_response_format``), tools and tool choices as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from gatewayz.config import ProviderConfig
from gatewayz.redact import Redactor
from gatewayz.upstreams.base import JSONDict, Operation, serves
from gatewayz.upstreams.helpers import TaskHelper
from gatewayz.upstreams.hf_tasks import HF_TASKS
from gatewayz.upstreams.openai import OpenAIUpstream

# What TGI's JSON grammar takes when the caller gave no schema: any object.
ANY_OBJECT: JSONDict = {"type": "object"}


def tgi_response_format(fmt: object) -> object:
    """OpenAI's ``response_format`` as TGI's Messages API takes it: TGI has no
    ``json_schema`` type and its ``json_object`` needs the schema in ``value``
    (text-generation-inference's guidance docs; huggingface/text-generation-inference#3058).
    ``text`` and TGI's own forms pass unchanged."""
    if not isinstance(fmt, dict) or "value" in fmt:
        return fmt
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return {"type": "json_object", "value": schema if isinstance(schema, dict) else ANY_OBJECT}
    if fmt.get("type") == "json_object":
        schema = fmt.get("schema")  # llama.cpp's form
        return {"type": "json_object", "value": schema if isinstance(schema, dict) else ANY_OBJECT}
    return fmt


class HFUpstream(OpenAIUpstream):
    kind = "hf"
    helpers: ClassVar[Mapping[str, TaskHelper]] = HF_TASKS
    tasks = serves(HF_TASKS)
    api_prefix = "/v1"

    def __init__(self, config: ProviderConfig, redactor: Redactor) -> None:
        super().__init__(config, redactor)
        # A task's answer may be an image as well as JSON.
        self._headers["Accept"] = "*/*"

    def prepare(self, op: Operation, payload: JSONDict) -> JSONDict:
        if op == "chat" and "response_format" in payload:
            fmt = tgi_response_format(payload["response_format"])
            return {**payload, "response_format": fmt}
        return payload

    def base(self, model: object) -> str:
        return self._base.replace("{model}", str(model)) if "{model}" in self._base else self._base
