"""Results of the OpenAI-compatible routes (``/v1/...``), shaped as OpenAI's own."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, kw_only=True)
class CompletionUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class ChatMessage:
    role: str
    content: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChatCompletionChoice:
    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChatCompletion:
    id: str
    created: int = 0
    model: str = ""
    object: str = "chat.completion"
    choices: list[ChatCompletionChoice]
    usage: CompletionUsage | None = None
    inference_id: str

    @property
    def content(self) -> str:
        """The first choice's text ("" when the model said nothing)."""
        return self.choices[0].message.content or "" if self.choices else ""


@dataclass(frozen=True, kw_only=True)
class ChoiceDelta:
    role: str | None = None
    content: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChatCompletionChunkChoice:
    index: int = 0
    delta: ChoiceDelta = field(default_factory=ChoiceDelta)
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChatCompletionChunk:
    id: str = ""
    created: int = 0
    model: str = ""
    object: str = "chat.completion.chunk"
    choices: list[ChatCompletionChunkChoice] = field(default_factory=list)
    usage: CompletionUsage | None = None
    inference_id: str

    @property
    def content(self) -> str:
        """The text this chunk adds ("" for role-only or final chunks)."""
        return (self.choices[0].delta.content or "") if self.choices else ""


@dataclass(frozen=True, kw_only=True)
class CompletionChoice:
    index: int = 0
    text: str = ""
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A text completion, or (streamed) one chunk of it."""

    id: str = ""
    created: int = 0
    model: str = ""
    object: str = "text_completion"
    choices: list[CompletionChoice] = field(default_factory=list)
    usage: CompletionUsage | None = None
    inference_id: str

    @property
    def text(self) -> str:
        return self.choices[0].text if self.choices else ""


@dataclass(frozen=True, kw_only=True)
class Embedding:
    index: int
    # Floats whichever ``encoding_format`` was asked for: base64 answers are decoded.
    embedding: list[float]
    object: str = "embedding"


@dataclass(frozen=True, kw_only=True)
class EmbeddingUsage:
    prompt_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class CreateEmbeddingResponse:
    data: list[Embedding]
    model: str
    object: str = "list"
    usage: EmbeddingUsage = field(default_factory=EmbeddingUsage)
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class GeneratedImage:
    b64_json: str

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.b64_json)


@dataclass(frozen=True, kw_only=True)
class ImagesResponse:
    created: int
    data: list[GeneratedImage]
    inference_id: str

    @property
    def images(self) -> list[bytes]:
        """Each generated image's file bytes (PNG)."""
        return [image.content for image in self.data]


@dataclass(frozen=True, kw_only=True)
class ModelPricing:
    """USD per million tokens, exact."""

    input: Decimal = Decimal(0)
    output: Decimal = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class Model:
    """One live model of ``/v1/models``."""

    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = ""
    hub_model_id: str | None = None
    task: str | None = None
    pricing: ModelPricing = field(default_factory=ModelPricing)
    context_length: int | None = None


@dataclass(frozen=True, kw_only=True)
class ModelsPage:
    data: list[Model]
    object: str = "list"
    inference_id: str
