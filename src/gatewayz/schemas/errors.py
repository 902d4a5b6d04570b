"""The error bodies of the route families (``http.families`` writes them), as the API
document describes them. Every one carries the request id of the ``Inference-Id`` header."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    code: str
    request_id: str


class OpenAIError(BaseModel):
    """The OpenAI family's error (``/v1/...`` and ``/models/{id}/v1/...``)."""

    error: OpenAIErrorDetail


class HFError(BaseModel):
    """The Hugging Face family's error (``/hf/...``, ``/models/...`` and the rest)."""

    error: str
    request_id: str


class AnthropicErrorDetail(BaseModel):
    type: str
    message: str


class AnthropicError(BaseModel):
    """The Anthropic family's error (``/v1/messages...``)."""

    type: Literal["error"]
    error: AnthropicErrorDetail
    request_id: str
