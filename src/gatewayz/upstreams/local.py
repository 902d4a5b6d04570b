"""The embedded provider: models that run inside the gateway process.

Heavy libraries (llama.cpp, onnxruntime, spaCy) are imported on first use, so a gateway
installed without the ``local`` extra still starts and proxies upstreams; asking it for an
embedded model then answers 501 with the install command.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gatewayz.config import ProviderConfig
from gatewayz.local._lazy import missing_package
from gatewayz.local.llama import LlamaRuntime, llama_params
from gatewayz.redact import Redactor
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.upstreams.base import JSONDict, Operation, Stopwatch, Upstream, serves

if TYPE_CHECKING:
    from gatewayz.upstreams.local_tasks import LocalTasks

# Tasks no embedded model can serve: they answer 501 saying how to configure an upstream.
NO_EMBEDDED_MODEL = frozenset({"fill-mask", "text-to-image"})
# The non-chat tasks of the embedded provider: the keys of ``LocalTasks.handlers``
# (``local_tasks`` imports the optional libraries, so they are named here as well; a test
# checks the two agree).
LOCAL_TASKS = frozenset(
    {
        "feature-extraction",
        "sentence-similarity",
        "zero-shot-classification",
        "summarization",
        "token-classification",
        "text-classification",
        "translation",
        *NO_EMBEDDED_MODEL,
    }
)


class LocalUpstream(Upstream):
    kind = "local"
    tasks = serves(LOCAL_TASKS)

    def __init__(self, config: ProviderConfig, redactor: Redactor) -> None:
        super().__init__(config, redactor)
        self._llama = LlamaRuntime()
        self._tasks: LocalTasks | None = None
        self._tasks_lock = threading.Lock()

    def _task_models(self) -> LocalTasks:
        with self._tasks_lock:
            if self._tasks is None:
                try:
                    from gatewayz.upstreams.local_tasks import LocalTasks
                except ImportError as exc:
                    package = (exc.name or "numpy").split(".")[0]
                    raise missing_package("the embedded task models", package) from None
                self._tasks = LocalTasks()
            return self._tasks

    async def run_task(self, model: str, request: TaskRequest, watch: Stopwatch) -> TaskResult:
        start = time.perf_counter()
        try:
            return await asyncio.to_thread(lambda: self._task_models().run(model, request))
        finally:
            watch.since(start)

    def load(self, model: str, task: str) -> None:
        """Load the model behind a route now (blocking), instead of on first use."""
        if task in ("conversational", "text-generation"):
            self._llama.model(model)
        else:
            self._task_models().load(model, task)

    async def create(self, op: Operation, payload: JSONDict, watch: Stopwatch) -> JSONDict:
        # Inference is the "upstream" time here: the gateway's own overhead stays separate.
        start = time.perf_counter()
        try:
            return await self._llama.create(payload["model"], op, llama_params(op, payload))
        finally:
            watch.since(start)

    async def stream(
        self, op: Operation, payload: JSONDict, watch: Stopwatch
    ) -> AsyncIterator[JSONDict]:
        params = llama_params(op, payload)
        async for chunk in self._llama.stream(payload["model"], op, params):
            yield chunk
