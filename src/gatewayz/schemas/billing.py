"""Billing request bodies: the cost calculator and Hugging Face's cost lookup."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

# Hugging Face asks for at most this many request ids in one call.
MAX_LOOKUP_IDS = 10_000
MAX_QUOTE_ITEMS = 10_000
# The largest count the calculator prices (a trillion tokens, images or characters): far
# above any real request, and small enough that every quote is an exact integer.
MAX_QUOTE_COUNT = 10**12


class CostItem(BaseModel):
    """The usage of one (real or hypothetical) request; counts default to zero."""

    model_config = ConfigDict(extra="forbid")

    task: StrictStr = Field(min_length=1)
    model: StrictStr = Field(min_length=1)
    input_tokens: StrictInt = Field(default=0, ge=0, le=MAX_QUOTE_COUNT)
    output_tokens: StrictInt = Field(default=0, ge=0, le=MAX_QUOTE_COUNT)
    images: StrictInt = Field(default=0, ge=0, le=MAX_QUOTE_COUNT)
    input_chars: StrictInt = Field(default=0, ge=0, le=MAX_QUOTE_COUNT)


class CostRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: list[CostItem] = Field(min_length=1, max_length=MAX_QUOTE_ITEMS)


class CostLookup(BaseModel):
    """``POST /v1/billing/requests``: Hugging Face's camelCase body."""

    model_config = ConfigDict(extra="ignore")

    requestIds: list[StrictStr] = Field(max_length=MAX_LOOKUP_IDS)
