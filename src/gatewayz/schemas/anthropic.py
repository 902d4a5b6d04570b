"""Anthropic Messages API requests (``POST /v1/messages`` and its ``count_tokens``).

Policy on fields: the top level is closed, as Anthropic's own API is (an unknown field is
a 400 naming it); ``metadata`` and ``service_tier`` are accepted and ignored. Content
blocks keep what they do not use (``cache_control``, ``citations``), so an earlier answer
can be sent back as it came; an unknown block type is a 400 naming the known ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class _Block(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextBlock(_Block):
    type: Literal["text"]
    text: StrictStr


class Base64Source(_Block):
    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: StrictStr


class URLSource(_Block):
    type: Literal["url"]
    url: StrictStr


class ImageBlock(_Block):
    type: Literal["image"]
    source: Annotated[Base64Source | URLSource, Field(discriminator="type")]


class ToolUseBlock(_Block):
    type: Literal["tool_use"]
    id: StrictStr = Field(min_length=1)
    name: StrictStr = Field(min_length=1)
    input: dict[str, Any]


class ToolResultBlock(_Block):
    type: Literal["tool_result"]
    tool_use_id: StrictStr = Field(min_length=1)
    content: StrictStr | list[TextBlock] = ""
    is_error: StrictBool = False


Block = Annotated[
    TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock, Field(discriminator="type")
]


class Message(_Block):
    role: Literal["user", "assistant"]
    content: StrictStr | Annotated[list[Block], Field(min_length=1)]


class Tool(_Block):
    type: Literal["custom"] | None = None
    name: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")
    description: StrictStr | None = None
    input_schema: dict[str, Any]


class ToolChoice(_Block):
    type: Literal["auto", "any", "tool", "none"]
    name: StrictStr | None = Field(default=None, min_length=1)
    disable_parallel_tool_use: StrictBool | None = None


class JSONOutputFormat(_Block):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfig(_Block):
    """Anthropic's structured output: the answer held to ``format``'s JSON schema."""

    format: JSONOutputFormat | None = None
    # Accepted and ignored: the upstream's effort is not the caller's to set.
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None


class Prompt(BaseModel):
    """What reaches the model's prompt: the fields ``count_tokens`` takes too."""

    model_config = ConfigDict(extra="forbid")

    model: StrictStr = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    system: StrictStr | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    output_config: OutputConfig | None = None


class CountTokensRequest(Prompt):
    """``POST /v1/messages/count_tokens``: the prompt of a request, without sampling."""


class MessagesRequest(Prompt):
    max_tokens: StrictInt = Field(ge=1)
    stop_sequences: list[StrictStr] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: StrictInt | None = Field(default=None, ge=1)
    stream: StrictBool = False
    # Accepted and ignored: they change nothing the gateway does.
    metadata: dict[str, Any] | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
