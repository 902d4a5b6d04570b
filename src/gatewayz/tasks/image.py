"""text-to-image: a prompt in, PNG bytes out."""

from __future__ import annotations

from pydantic import Field, StrictInt, StrictStr

from gatewayz.tasks.base import Parameters, TaskSpec
from gatewayz.tasks.text import NonEmptyText

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class TextToImageParameters(Parameters):
    width: StrictInt | None = Field(default=None, ge=64, le=4096)
    height: StrictInt | None = Field(default=None, ge=64, le=4096)
    seed: StrictInt | None = None
    num_inference_steps: StrictInt | None = Field(default=None, ge=1, le=500)
    guidance_scale: float | None = Field(default=None, ge=0)
    negative_prompt: StrictStr | None = None
    scheduler: StrictStr | None = None


class TextToImage(TaskSpec):
    name = "text-to-image"
    inputs_schema = NonEmptyText
    parameters_schema = TextToImageParameters
