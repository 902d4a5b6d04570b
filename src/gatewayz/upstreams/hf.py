"""Hugging Face-compatible upstreams: TGI, TEI, Inference Endpoints, another gateway.

``base_url`` is the server's root, or a template with ``{model}`` for servers that host
many models (e.g. ``http://host/models/{model}``). Task requests are passed through in the
HF format and the answer's shape is checked; chat and completions use the OpenAI routes
that TGI serves under ``/v1``.
"""

from __future__ import annotations

import time

import orjson

from gatewayz.errors import UpstreamBadResponse
from gatewayz.money import Usage
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.tasks.image import PNG_MAGIC
from gatewayz.tasks.registry import TASK_SPECS
from gatewayz.upstreams.base import Stopwatch, serves
from gatewayz.upstreams.openai import OpenAIUpstream


class HFUpstream(OpenAIUpstream):
    kind = "hf"
    tasks = serves(TASK_SPECS)

    def root(self, model: object) -> str:
        return self._base.replace("{model}", str(model)) if "{model}" in self._base else self._base

    def url(self, path: str, model: object) -> str:
        return self.root(model) + "/v1" + path

    async def run_task(self, model: str, request: TaskRequest, watch: Stopwatch) -> TaskResult:
        spec = TASK_SPECS[request.task]
        body = {"inputs": request.inputs, "parameters": request.parameters}
        start = time.perf_counter()
        try:
            async with self.session.post(
                self.root(model), data=orjson.dumps(body), headers={"Accept": "*/*"}
            ) as resp:
                raw = await resp.read()
                status, media = resp.status, resp.content_type
        except Exception as exc:
            raise self._translate(exc) from None
        finally:
            watch.since(start)
        if status != 200:
            raise self._status_error(status, raw)
        if request.task == "text-to-image":
            if not raw.startswith(PNG_MAGIC):
                raise UpstreamBadResponse(f"upstream {self.name!r} did not answer with a PNG")
            return TaskResult(image=raw, media_type="image/png", usage=Usage(images=1))
        if media != "application/json":
            shown = self.redactor.for_caller(media, 80)  # the upstream's own header text
            raise UpstreamBadResponse(f"upstream {self.name!r} answered {shown}, not JSON")
        try:
            output = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise UpstreamBadResponse(f"upstream {self.name!r} answered invalid JSON") from None
        return TaskResult(output=spec.check_output(output))
