"""fill-mask: the most likely fillers of a masked word."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt

from gatewayz.errors import InvalidTaskInput
from gatewayz.tasks.base import JSON, Parameters, TaskSpec, is_score
from gatewayz.tasks.outputs import FilledMask
from gatewayz.tasks.text import NonEmptyText

MASK_TOKENS = ("[MASK]", "<mask>")


class FillMaskParameters(Parameters):
    top_k: StrictInt | None = Field(default=None, ge=1)
    targets: list[NonEmptyText] | None = None


class FillMask(TaskSpec):
    name = "fill-mask"
    inputs_schema = NonEmptyText
    parameters_schema = FillMaskParameters
    output_schema = list[FilledMask]

    def validate(self, inputs: Any, params: Any) -> None:
        if sum(inputs.count(m) for m in MASK_TOKENS) != 1:
            raise InvalidTaskInput("inputs: must contain exactly one [MASK] (or <mask>) token")

    def check_output(self, output: JSON) -> JSON:
        if (
            not isinstance(output, list)
            or not output
            or not all(
                isinstance(x, dict)
                and is_score(x.get("score"))
                and isinstance(x.get("sequence"), str)
                and isinstance(x.get("token_str"), str)
                for x in output
            )
        ):
            raise self.bad_output("expected [{score, sequence, token, token_str}]")
        return output
