"""The success answers of the inference routes, as the API document describes them.

They describe what the routes write (the routes build their answers as plain JSON, fast);
the schemathesis run in tests/openapi checks every answer against them. Objects are open
(``extra="allow"``): an upstream's extra fields pass through, as the official clients
expect; the fields listed are the ones the gateway always writes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class TokenUsage(_Open):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatChoice(_Open):
    index: int
    message: dict[str, Any]
    finish_reason: str | None = None


class ChatCompletion(_Open):
    """``POST /v1/chat/completions`` (not streamed)."""

    object: str
    model: str
    choices: list[ChatChoice]
    usage: TokenUsage


class CompletionChoice(_Open):
    index: int
    text: str
    finish_reason: str | None = None


class Completion(_Open):
    """``POST /v1/completions`` (not streamed)."""

    object: str
    model: str
    choices: list[CompletionChoice]
    usage: TokenUsage


class RoutePricing(_Open):
    """USD per million tokens, exact decimals."""

    input: float
    output: float


class ModelCard(_Open):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    hub_model_id: str
    task: str
    pricing: RoutePricing
    context_length: int
    providers: list[dict[str, Any]]


class ModelList(_Open):
    """``GET /v1/models``: the live models and each one's routes."""

    object: Literal["list"]
    data: list[ModelCard]


class EmbeddingUsage(_Open):
    prompt_tokens: int
    total_tokens: int


class Embedding(_Open):
    object: Literal["embedding"]
    index: int
    # Floats, or base64 little-endian float32 with ``encoding_format: base64``.
    embedding: list[float] | str


class EmbeddingList(_Open):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


class GeneratedImage(_Open):
    b64_json: str


class ImagesAnswer(_Open):
    created: int
    data: list[GeneratedImage]


class ResponseObject(_Open):
    """``POST /v1/responses`` (not streamed): OpenAI's response object."""

    id: str
    object: Literal["response"]
    created_at: int
    status: str
    model: str
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None = None


class MessageUsage(_Open):
    input_tokens: int
    output_tokens: int


class MessageObject(_Open):
    """``POST /v1/messages`` (not streamed): Anthropic's message."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    stop_sequence: str | None
    usage: MessageUsage


class TokenCount(BaseModel):
    """``POST /v1/messages/count_tokens``; ``count`` says whether it is exact."""

    input_tokens: int
    count: Literal["exact", "estimate"]


class GeneratedText(_Open):
    """One text-generation or conversational answer (``details`` when asked)."""

    generated_text: str
