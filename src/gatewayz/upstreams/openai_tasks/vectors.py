"""feature-extraction and sentence-similarity through ``/v1/embeddings``."""

from __future__ import annotations

import math

from gatewayz.errors import UpstreamBadResponse
from gatewayz.money import Usage
from gatewayz.schemas.usage import usage_of
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.upstreams.helpers import Call, JSONDict, JSONTaskHelper


def embeddings_call(model: str, texts: list[str]) -> Call:
    return Call("/embeddings", {"model": model, "input": texts, "encoding_format": "float"})


def vectors_of(answer: JSONDict, count: int) -> tuple[list[list[float]], Usage]:
    """The ``count`` vectors of an embeddings answer, in input order, and its usage."""
    data = answer.get("data")
    if not isinstance(data, list) or len(data) != count:
        raise UpstreamBadResponse("the upstream's embeddings answer has the wrong length")
    rows = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
    vectors = [row.get("embedding") for row in rows if isinstance(row, dict)]
    if not all(isinstance(v, list) and v for v in vectors):
        raise UpstreamBadResponse("the upstream's embeddings answer has no vectors")
    usage = usage_of(answer, output=False) or Usage()
    return [[float(x) for x in v] for v in vectors if isinstance(v, list)], usage


def normalized(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _texts(req: TaskRequest) -> list[str]:
    return [req.inputs] if isinstance(req.inputs, str) else list(req.inputs)


class FeatureExtractionTask(JSONTaskHelper):
    task = "feature-extraction"

    def prepare(self, model: str, req: TaskRequest) -> Call:
        return embeddings_call(model, _texts(req))

    def parse_json(self, answer: JSONDict, req: TaskRequest) -> TaskResult:
        vectors, usage = vectors_of(answer, len(_texts(req)))
        if req.param("normalize", False):
            vectors = [normalized(v) for v in vectors]
        return TaskResult(output=vectors, usage=usage)


class SentenceSimilarityTask(JSONTaskHelper):
    task = "sentence-similarity"

    def prepare(self, model: str, req: TaskRequest) -> Call:
        return embeddings_call(model, [req.inputs["source_sentence"], *req.inputs["sentences"]])

    def parse_json(self, answer: JSONDict, req: TaskRequest) -> TaskResult:
        vectors, usage = vectors_of(answer, 1 + len(req.inputs["sentences"]))
        source, *others = (normalized(v) for v in vectors)
        scores = [sum(a * b for a, b in zip(source, o, strict=True)) for o in others]
        return TaskResult(output=scores, usage=usage)
