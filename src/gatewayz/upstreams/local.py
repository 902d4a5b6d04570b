"""The embedded provider: models that run inside the gateway process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from gatewayz.config import ProviderConfig
from gatewayz.local.llama import LlamaRuntime, llama_params
from gatewayz.upstreams.base import JSONDict, Operation, Stopwatch, Upstream


class LocalUpstream(Upstream):
    kind = "local"
    tasks = frozenset({"conversational", "text-generation"})

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self._llama = LlamaRuntime()

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
