"""Request bodies of the dashboard's key administration (``/dashboard/api/keys``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A limit as stored: a signed 64-bit column.
MAX_LIMIT = 2**63 - 1


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain a NUL character")
    return text


class KeyLimitsBody(BaseModel):
    """Rate limits: a number (0: no limit for this key) or null (the configured default).
    A field left out of ``PUT .../limits`` is left as it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rpm: int | None = Field(default=None, ge=0, le=MAX_LIMIT)
    tpm: int | None = Field(default=None, ge=0, le=MAX_LIMIT)
    max_concurrency: int | None = Field(default=None, ge=0, le=MAX_LIMIT)


class KeyCreate(KeyLimitsBody):
    """``POST /dashboard/api/keys``."""

    name: str = Field(min_length=1, max_length=200)
    role: Literal["standard", "admin", "partner"] = "standard"
    # Prepaid credits as a USD decimal string ("1.50"); absent or null: unlimited.
    balance_usd: str | None = Field(default=None, min_length=1, max_length=40)

    _names = field_validator("name")(_no_nul)


class CreditBody(BaseModel):
    """``POST /dashboard/api/keys/{id}/credit``: a USD decimal string, e.g. "2" or "0.25"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    usd: str = Field(min_length=1, max_length=40)
