"""Classification tasks: text-classification, token-classification, zero-shot."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from gatewayz.errors import InvalidTaskInput
from gatewayz.tasks.base import JSON, Parameters, TaskSpec, is_label_scores, is_score
from gatewayz.tasks.outputs import Entity, LabelScore
from gatewayz.tasks.text import NonEmptyText


class TextClassificationParameters(Parameters):
    top_k: StrictInt | None = Field(default=None, ge=1)
    function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None


class TextClassification(TaskSpec):
    name = "text-classification"
    inputs_schema = NonEmptyText
    parameters_schema = TextClassificationParameters
    output_schema = list[list[LabelScore]]

    def check_output(self, output: JSON) -> JSON:
        if isinstance(output, list) and output and isinstance(output[0], list):
            output = output[0]
        if not is_label_scores(output) or not output:
            raise self.bad_output("expected [[{label, score}]]")
        return [sorted(output, key=lambda x: -x["score"])]


class TokenClassificationParameters(Parameters):
    aggregation_strategy: Literal["none", "simple", "first", "average", "max"] | None = None
    ignore_labels: list[StrictStr] | None = None
    stride: StrictInt | None = None


def is_entity(x: Any) -> bool:
    return (
        isinstance(x, dict)
        and isinstance(x.get("word"), str)
        and is_score(x.get("score"))
        and isinstance(x.get("start"), int)
        and isinstance(x.get("end"), int)
        and isinstance(x.get("entity_group", x.get("entity")), str)
    )


class TokenClassification(TaskSpec):
    name = "token-classification"
    inputs_schema = NonEmptyText
    parameters_schema = TokenClassificationParameters
    output_schema = list[Entity]

    def check_output(self, output: JSON) -> JSON:
        if not isinstance(output, list) or not all(is_entity(x) for x in output):
            raise self.bad_output("expected [{entity_group, score, word, start, end}]")
        return output


class ZeroShotParameters(Parameters):
    candidate_labels: list[NonEmptyText] = Field(min_length=1)
    multi_label: StrictBool | None = None
    hypothesis_template: StrictStr | None = None


class ZeroShotClassification(TaskSpec):
    name = "zero-shot-classification"
    inputs_schema = NonEmptyText
    parameters_schema = ZeroShotParameters
    output_schema = list[LabelScore]

    def validate(self, inputs: Any, params: Any) -> None:
        template = params.hypothesis_template
        if template is not None and "{}" not in template:
            raise InvalidTaskInput("parameters.hypothesis_template: must contain '{}'")
        if len(set(params.candidate_labels)) != len(params.candidate_labels):
            raise InvalidTaskInput("parameters.candidate_labels: labels must be distinct")

    def check_output(self, output: JSON) -> JSON:
        if isinstance(output, dict) and "labels" in output:  # the older pipeline shape
            output = [
                {"label": lab, "score": s}
                for lab, s in zip(output["labels"], output.get("scores", []), strict=False)
            ]
        if not is_label_scores(output) or not output:
            raise self.bad_output("expected [{label, score}]")
        return sorted(output, key=lambda x: -x["score"])
