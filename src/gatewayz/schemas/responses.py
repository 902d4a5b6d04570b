"""OpenAI Responses API requests (``POST /v1/responses``).

Policy on fields: the top level is closed (an unknown parameter is a 400 naming it, as
OpenAI answers); the optional parameters that change nothing the gateway does (``store``,
``metadata``, ``include``...) are accepted and ignored. Input items and content parts keep
what they do not use (ids, statuses, annotations), so an earlier answer can be sent back
as it came.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InputText(_Item):
    type: Literal["input_text"]
    text: StrictStr


class OutputText(_Item):
    type: Literal["output_text"]
    text: StrictStr


class Refusal(_Item):
    type: Literal["refusal"]
    refusal: StrictStr


class InputImage(_Item):
    type: Literal["input_image"]
    image_url: StrictStr


ContentPart = Annotated[InputText | OutputText | Refusal | InputImage, Field(discriminator="type")]


class MessageItem(_Item):
    type: Literal["message"]
    role: Literal["user", "assistant", "system", "developer"]
    content: StrictStr | list[ContentPart]


class FunctionCallItem(_Item):
    type: Literal["function_call"]
    call_id: StrictStr = Field(min_length=1)
    name: StrictStr = Field(min_length=1)
    arguments: StrictStr


class FunctionCallOutputItem(_Item):
    type: Literal["function_call_output"]
    call_id: StrictStr = Field(min_length=1)
    output: StrictStr | list[ContentPart]


class ReasoningItem(_Item):
    """A reasoning item of an earlier answer sent back: nothing of it reaches the model."""

    type: Literal["reasoning"]


InputItem = Annotated[
    MessageItem | FunctionCallItem | FunctionCallOutputItem | ReasoningItem,
    Field(discriminator="type"),
]


class FunctionTool(_Item):
    type: Literal["function"]
    name: StrictStr = Field(min_length=1, max_length=64)
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class NamedFunction(_Item):
    type: Literal["function"]
    name: StrictStr = Field(min_length=1)


class TextFormat(_Item):
    """OpenAI's format; TGI's ``json``/``json_object`` with the schema in ``value`` is
    taken too (``services/response_format.py``)."""

    type: Literal["text", "json_object", "json", "json_schema"]
    value: Any = None
    name: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: StrictStr | None = None
    strict: StrictBool | None = None


class TextConfig(_Item):
    format: TextFormat | None = None


class ResponsesTarget(BaseModel):
    """What the gateway reads of a request passed through to a server that speaks the
    Responses API itself: the rest is that server's to judge."""

    model_config = ConfigDict(extra="allow")

    model: StrictStr | None = None
    stream: StrictBool = False


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: StrictStr | None = None
    input: StrictStr | list[InputItem]
    instructions: StrictStr | None = None
    max_output_tokens: StrictInt | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedFunction | None = None
    parallel_tool_calls: StrictBool | None = None
    text: TextConfig | None = None
    stream: StrictBool = False
    # Stateless: nothing is kept, whatever ``store`` says (every answer says store: false).
    store: StrictBool | None = None
    previous_response_id: StrictStr | None = None  # refused: no response is kept
    # Accepted and ignored: they change nothing the gateway does.
    metadata: dict[str, StrictStr] | None = None
    user: StrictStr | None = None
    include: list[StrictStr] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    service_tier: StrictStr | None = None
    prompt_cache_key: StrictStr | None = None
    safety_identifier: StrictStr | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _messages_may_omit_type(cls, value: Any) -> Any:
        """``{"role": ..., "content": ...}`` is a message item without its ``type``."""
        if isinstance(value, list):
            return [
                {**v, "type": "message"} if isinstance(v, dict) and "type" not in v else v
                for v in value
            ]
        return value
