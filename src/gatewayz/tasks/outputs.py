"""The answers of the Hugging Face tasks, as types the API document describes (each
task's ``check_output`` holds an upstream's answer to the same shape)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class LabelScore(_Open):
    label: str
    score: float


class Entity(_Open):
    entity_group: str | None = None
    entity: str | None = None
    score: float
    word: str
    start: int
    end: int


class Answer(_Open):
    answer: str
    score: float
    start: int
    end: int


class FilledMask(_Open):
    score: float
    sequence: str
    token: int | None = None
    token_str: str


class SummaryText(_Open):
    summary_text: str


class TranslationText(_Open):
    translation_text: str
