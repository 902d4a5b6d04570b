"""Hugging Face task request bodies (``{"inputs": ..., "parameters": {...}}``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from gatewayz.schemas.openai import ChatMessage


class _Params(BaseModel):
    model_config = ConfigDict(extra="allow")


class TextGenerationParameters(_Params):
    model: StrictStr | None = None
    max_new_tokens: StrictInt | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: StrictInt | None = Field(default=None, ge=1)
    repetition_penalty: float | None = Field(default=None, gt=0)
    frequency_penalty: float | None = None
    stop: list[StrictStr] | None = None
    stop_sequences: list[StrictStr] | None = None
    seed: StrictInt | None = None
    do_sample: StrictBool | None = None
    return_full_text: StrictBool | None = None
    details: StrictBool | None = None


class TextGenerationRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    inputs: StrictStr = Field(min_length=1)
    parameters: TextGenerationParameters = TextGenerationParameters()
    model: StrictStr | None = None
    stream: StrictBool = False


class ConversationalRequest(BaseModel):
    """``inputs`` is a list of OpenAI-style messages, ``{"messages": [...]}``, or a single
    user message as a string."""

    model_config = ConfigDict(extra="allow")
    # Checked by ``services.textgen.conversation_messages``, which names the bad field
    # (a union here would report "inputs.str: ..." for a bad message).
    inputs: Any = None
    messages: list[ChatMessage] | None = None
    parameters: TextGenerationParameters = TextGenerationParameters()
    model: StrictStr | None = None
