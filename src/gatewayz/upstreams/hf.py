"""Hugging Face-compatible upstreams: TGI, TEI, Inference Endpoints, another gateway.

``base_url`` is the server's root, or a template with ``{model}`` for servers that host
many models (e.g. ``http://host/models/{model}``). Task requests are passed through in the
HF format (``hf_tasks``) and the answer's shape is checked; chat and completions use the
OpenAI routes that TGI serves under ``/v1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from gatewayz.config import ProviderConfig
from gatewayz.redact import Redactor
from gatewayz.upstreams.base import serves
from gatewayz.upstreams.helpers import TaskHelper
from gatewayz.upstreams.hf_tasks import HF_TASKS
from gatewayz.upstreams.openai import OpenAIUpstream


class HFUpstream(OpenAIUpstream):
    kind = "hf"
    helpers: ClassVar[Mapping[str, TaskHelper]] = HF_TASKS
    tasks = serves(HF_TASKS)
    api_prefix = "/v1"

    def __init__(self, config: ProviderConfig, redactor: Redactor) -> None:
        super().__init__(config, redactor)
        # A task's answer may be an image as well as JSON.
        self._headers["Accept"] = "*/*"

    def base(self, model: object) -> str:
        return self._base.replace("{model}", str(model)) if "{model}" in self._base else self._base
