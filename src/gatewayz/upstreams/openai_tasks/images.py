"""text-to-image through ``/v1/images/generations`` (base64 PNG -> raw bytes)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from gatewayz.errors import UpstreamBadResponse
from gatewayz.money import Usage
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.tasks.image import PNG_MAGIC
from gatewayz.upstreams.helpers import Call, JSONDict, JSONTaskHelper


class TextToImageTask(JSONTaskHelper):
    task = "text-to-image"

    def prepare(self, model: str, req: TaskRequest) -> Call:
        payload: dict[str, Any] = {
            "model": model,
            "prompt": req.inputs,
            "n": 1,
            "response_format": "b64_json",
        }
        width, height = req.param("width"), req.param("height")
        if width or height:
            payload["size"] = f"{width or height}x{height or width}"
        for key in ("seed", "negative_prompt", "num_inference_steps", "guidance_scale"):
            if req.param(key) is not None:
                payload[key] = req.param(key)
        return Call("/images/generations", payload)

    def parse_json(self, answer: JSONDict, req: TaskRequest) -> TaskResult:
        data = answer.get("data")
        encoded = data[0].get("b64_json") if isinstance(data, list) and data else None
        if not isinstance(encoded, str):
            raise UpstreamBadResponse("the upstream's image answer has no b64_json")
        try:
            image = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise UpstreamBadResponse("the upstream's image is not valid base64") from None
        if not image.startswith(PNG_MAGIC):
            raise UpstreamBadResponse("the upstream's image is not a PNG")
        return TaskResult(image=image, media_type="image/png", usage=Usage(images=1))
