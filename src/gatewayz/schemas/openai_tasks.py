"""OpenAI embeddings and image-generation request bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

Text = Annotated[StrictStr, Field(min_length=1)]


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: StrictStr | None = None
    input: Text | list[Text] = Field(min_length=1)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: StrictInt | None = Field(default=None, ge=1)


class ImageGenerationRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: StrictStr | None = None
    prompt: Text
    n: StrictInt = Field(default=1, ge=1, le=1)
    size: Annotated[StrictStr, Field(pattern=r"^\d{2,4}x\d{2,4}$")] | None = None
    response_format: Literal["b64_json"] = "b64_json"
    seed: StrictInt | None = None
    negative_prompt: StrictStr | None = None
