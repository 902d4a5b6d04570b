"""Text-to-text tasks: summarization and translation."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr

from gatewayz.errors import InvalidTaskInput
from gatewayz.tasks.base import JSON, Parameters, TaskSpec
from gatewayz.tasks.outputs import SummaryText, TranslationText

NonEmptyText = Annotated[StrictStr, Field(min_length=1)]


def _single_text(spec: TaskSpec, output: JSON, key: str) -> JSON:
    if isinstance(output, dict):
        output = [output]
    if not (
        isinstance(output, list)
        and output
        and isinstance(output[0], dict)
        and isinstance(output[0].get(key), str)
    ):
        raise spec.bad_output(f"expected [{{{key!r}: str}}]")
    return [{key: output[0][key]}]


class SummarizationParameters(Parameters):
    max_length: StrictInt | None = Field(default=None, ge=1)
    min_length: StrictInt | None = Field(default=None, ge=0)
    clean_up_tokenization_spaces: StrictBool | None = None
    truncation: StrictStr | None = None
    generate_parameters: dict[str, Any] | None = None


class Summarization(TaskSpec):
    name = "summarization"
    inputs_schema = NonEmptyText
    parameters_schema = SummarizationParameters
    output_schema = list[SummaryText]

    def check_output(self, output: JSON) -> JSON:
        return _single_text(self, output, "summary_text")


class TranslationParameters(Parameters):
    src_lang: StrictStr | None = None
    tgt_lang: StrictStr | None = None
    clean_up_tokenization_spaces: StrictBool | None = None
    truncation: StrictStr | None = None
    generate_parameters: dict[str, Any] | None = None


class Translation(TaskSpec):
    name = "translation"
    inputs_schema = NonEmptyText
    parameters_schema = TranslationParameters
    output_schema = list[TranslationText]

    def validate(self, inputs: Any, params: Any) -> None:
        if (params.src_lang is None) != (params.tgt_lang is None):
            raise InvalidTaskInput("parameters: give both src_lang and tgt_lang, or neither")

    def check_output(self, output: JSON) -> JSON:
        return _single_text(self, output, "translation_text")
