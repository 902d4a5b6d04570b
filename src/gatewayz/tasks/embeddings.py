"""Vector tasks: feature-extraction and sentence-similarity."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from gatewayz.tasks.base import JSON, Parameters, TaskSpec
from gatewayz.tasks.text import NonEmptyText


class FeatureExtractionParameters(Parameters):
    normalize: StrictBool | None = None
    prompt_name: StrictStr | None = None
    truncate: StrictBool | None = None
    truncation_direction: Literal["left", "right", "Left", "Right"] | None = None


def _is_vector(v: Any) -> bool:
    return (
        isinstance(v, list)
        and bool(v)
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
    )


class FeatureExtraction(TaskSpec):
    name = "feature-extraction"
    inputs_schema = NonEmptyText | list[NonEmptyText]
    parameters_schema = FeatureExtractionParameters
    root_parameters = ("normalize", "prompt_name", "truncate", "truncation_direction")
    output_schema = list[list[float]]

    def check_output(self, output: JSON) -> JSON:
        if _is_vector(output):
            output = [output]
        if not isinstance(output, list) or not output or not all(_is_vector(v) for v in output):
            raise self.bad_output("expected a list of float vectors")
        return output


class SimilarityInputs(BaseModel):
    source_sentence: NonEmptyText
    sentences: list[NonEmptyText] = Field(min_length=1)


class SentenceSimilarity(TaskSpec):
    name = "sentence-similarity"
    inputs_schema = SimilarityInputs
    output_schema = list[float]

    def check_output(self, output: JSON) -> JSON:
        if not _is_vector(output):
            raise self.bad_output("expected a list of floats")
        return output
