"""OpenAI-shaped routes for two HF tasks: ``/v1/embeddings`` (feature-extraction) and
``/v1/images/generations`` (text-to-image)."""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.errors import InvalidRequest
from gatewayz.http.api import Api
from gatewayz.http.body import read_json_object
from gatewayz.http.families import OPENAI, FamilyRoute
from gatewayz.http.responses import JSONResponse
from gatewayz.routes.common import begin
from gatewayz.schemas.answers import EmbeddingList, ImagesAnswer
from gatewayz.schemas.openai_tasks import EmbeddingsRequest, ImageGenerationRequest
from gatewayz.schemas.usage import usage_object
from gatewayz.tasks.base import TaskRequest, TaskResult

EMBEDDINGS = Api("Create embeddings", "OpenAI", body=EmbeddingsRequest, answer=EmbeddingList)
IMAGES = Api("Generate an image", "OpenAI", body=ImageGenerationRequest, answer=ImagesAnswer)


def _encode(vector: list[float], encoding: str) -> Any:
    if encoding == "base64":  # little-endian float32, as the openai SDKs decode it
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


async def embeddings(request: Request) -> Response:
    gw, ctx = await begin(request, "embeddings")
    req = EMBEDDINGS.validate(await read_json_object(request, gw.settings.max_body_bytes))
    model = gw.inference.resolve(ctx, req.model, "feature-extraction")
    texts = [req.input] if isinstance(req.input, str) else req.input
    task = TaskRequest("feature-extraction", texts, {"normalize": True})

    def check_dimensions(result: TaskResult) -> None:
        size = len(result.output[0])
        if req.dimensions is not None and req.dimensions > size:
            raise InvalidRequest(f"dimensions: the model gives {size} at most")

    result = await gw.inference.run_task(ctx, model, task, check_dimensions)
    vectors: list[list[float]] = result.output
    if req.dimensions is not None:
        vectors = [v[: req.dimensions] for v in vectors]
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(v, req.encoding_format)}
        for i, v in enumerate(vectors)
    ]
    usage = usage_object(result.usage, output=False)
    return JSONResponse({"object": "list", "data": data, "model": model.id, "usage": usage})


async def image_generations(request: Request) -> Response:
    gw, ctx = await begin(request, "image_generations")
    req = IMAGES.validate(await read_json_object(request, gw.settings.max_body_bytes))
    model = gw.inference.resolve(ctx, req.model, "text-to-image")
    params: dict[str, Any] = {"seed": req.seed, "negative_prompt": req.negative_prompt}
    if req.size:
        width, height = (int(x) for x in req.size.split("x"))
        params.update(width=width, height=height)
    task = TaskRequest(
        "text-to-image", req.prompt, {k: v for k, v in params.items() if v is not None}
    )
    result = await gw.inference.run_task(ctx, model, task)
    image = base64.b64encode(result.image or b"").decode()
    return JSONResponse({"created": int(time.time()), "data": [{"b64_json": image}]})


ROUTES = [
    FamilyRoute("/v1/embeddings", embeddings, family=OPENAI, methods=["POST"], api=EMBEDDINGS),
    FamilyRoute(
        "/v1/images/generations", image_generations, family=OPENAI, methods=["POST"], api=IMAGES
    ),
]
