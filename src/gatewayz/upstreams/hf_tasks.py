"""Task helpers of Hugging Face-compatible upstreams: the HF body is sent as it is to the
model's URL, and the answer is the task's HF output (a PNG for text-to-image)."""

from __future__ import annotations

import orjson

from gatewayz.errors import UpstreamBadResponse
from gatewayz.money import Usage
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.tasks.image import PNG_MAGIC
from gatewayz.tasks.registry import TASK_SPECS
from gatewayz.upstreams.helpers import Call, Reply, TaskHelper, by_task


class PassThrough(TaskHelper):
    """Any task whose answer is JSON in the task's HF shape."""

    media: str | None = "application/json"

    def __init__(self, task: str) -> None:
        self.task = task

    def prepare(self, model: str, req: TaskRequest) -> Call:
        return Call("", {"inputs": req.inputs, "parameters": req.parameters}, media=self.media)

    def parse(self, reply: Reply, req: TaskRequest) -> TaskResult:
        try:
            return TaskResult(output=orjson.loads(reply.body))
        except orjson.JSONDecodeError:
            raise UpstreamBadResponse(f"the upstream's {self.task} answer is not JSON") from None


class ImagePassThrough(PassThrough):
    """text-to-image: the answer is the image itself."""

    media = None  # servers label images variously; the bytes are checked instead

    def parse(self, reply: Reply, req: TaskRequest) -> TaskResult:
        if not reply.body.startswith(PNG_MAGIC):
            raise UpstreamBadResponse("the upstream did not answer with a PNG")
        return TaskResult(image=reply.body, media_type="image/png", usage=Usage(images=1))


# Every task with a spec is served as it is.
HF_TASKS = by_task(
    ImagePassThrough(task) if task == "text-to-image" else PassThrough(task) for task in TASK_SPECS
)
