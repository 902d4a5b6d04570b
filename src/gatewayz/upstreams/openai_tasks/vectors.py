"""feature-extraction and sentence-similarity through ``/v1/embeddings``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from gatewayz.errors import UpstreamBadResponse
from gatewayz.money import Usage
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.upstreams.openai_tasks.base import OpenAITaskHelper

if TYPE_CHECKING:
    from gatewayz.upstreams.base import Stopwatch
    from gatewayz.upstreams.openai import OpenAIUpstream


async def embed(
    upstream: OpenAIUpstream, model: str, texts: list[str], watch: Stopwatch
) -> tuple[list[list[float]], Usage]:
    answer = await upstream.post_json(
        "/embeddings", {"model": model, "input": texts, "encoding_format": "float"}, watch
    )
    data = answer.get("data")
    if not isinstance(data, list) or len(data) != len(texts):
        raise UpstreamBadResponse("the upstream's embeddings answer has the wrong length")
    rows = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
    vectors = [row.get("embedding") for row in rows if isinstance(row, dict)]
    if not all(isinstance(v, list) and v for v in vectors):
        raise UpstreamBadResponse("the upstream's embeddings answer has no vectors")
    usage = answer.get("usage") or {}
    tokens = usage.get("prompt_tokens")
    return [[float(x) for x in v] for v in vectors if isinstance(v, list)], Usage(
        input_tokens=tokens if isinstance(tokens, int) and tokens >= 0 else 0
    )


def normalized(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class FeatureExtractionTask(OpenAITaskHelper):
    task = "feature-extraction"

    async def run(
        self, upstream: OpenAIUpstream, model: str, req: TaskRequest, watch: Stopwatch
    ) -> TaskResult:
        texts = [req.inputs] if isinstance(req.inputs, str) else list(req.inputs)
        vectors, usage = await embed(upstream, model, texts, watch)
        if req.param("normalize", False):
            vectors = [normalized(v) for v in vectors]
        return TaskResult(output=vectors, usage=usage)


class SentenceSimilarityTask(OpenAITaskHelper):
    task = "sentence-similarity"

    async def run(
        self, upstream: OpenAIUpstream, model: str, req: TaskRequest, watch: Stopwatch
    ) -> TaskResult:
        texts = [req.inputs["source_sentence"], *req.inputs["sentences"]]
        vectors, usage = await embed(upstream, model, texts, watch)
        source, *others = (normalized(v) for v in vectors)
        scores = [sum(a * b for a, b in zip(source, o, strict=True)) for o in others]
        return TaskResult(output=scores, usage=usage)
