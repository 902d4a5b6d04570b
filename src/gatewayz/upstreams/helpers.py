"""Task helpers: what one upstream kind sends for one task, and how it reads the answer.

As huggingface_hub's ``inference/_providers``: a helper only prepares the request
(``prepare`` -> a ``Call``: the path and payload) and parses the answer (``parse`` -> a
``TaskResult``); the adapter makes the HTTP call (one method, one retry path for every
call) and then checks the result against the task's spec. Each kind lists its helpers in
one dict keyed by task; those keys are the non-chat tasks the kind serves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from gatewayz.errors import UpstreamBadResponse
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.upstreams.http1 import Response as Reply

JSONDict = dict[str, Any]

__all__ = ["Call", "JSONTaskHelper", "Reply", "TaskHelper", "by_task"]


@dataclass(frozen=True, slots=True)
class Call:
    """One POST a helper asks its adapter to make. ``path`` is under the adapter's URL for
    the model (``""`` is that URL itself).

    Servers differ in how they take some options (a JSON schema, say): ``fallback`` is the
    same request in another form, sent when the server rejects this one with an error that
    mentions ``fallback_when``; the adapter then sends the fallback first from then on."""

    path: str
    payload: JSONDict
    # The media type the answer must have (checked by the adapter), or None for any.
    media: str | None = None
    fallback: Call | None = None
    fallback_when: str = ""


class TaskHelper(ABC):
    """Serves one task on one upstream kind."""

    task: str

    @abstractmethod
    def prepare(self, model: str, req: TaskRequest) -> Call:
        """The request to send for ``req`` to the upstream's ``model``."""

    @abstractmethod
    def parse(self, reply: Reply, req: TaskRequest) -> TaskResult:
        """The task's answer from the upstream's 200 ``reply``; raise
        ``UpstreamBadResponse`` if it is not what was asked for."""


class JSONTaskHelper(TaskHelper):
    """A helper whose upstream answers with a JSON object."""

    def parse(self, reply: Reply, req: TaskRequest) -> TaskResult:
        return self.parse_json(json_object(reply.body), req)

    @abstractmethod
    def parse_json(self, answer: JSONDict, req: TaskRequest) -> TaskResult: ...


def json_object(body: bytes) -> JSONDict:
    """An answer's body as a JSON object, or UpstreamBadResponse."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamBadResponse("the upstream answered with invalid JSON") from None
    if not isinstance(data, dict):
        raise UpstreamBadResponse("the upstream answered with a non-object")
    return data


def by_task(helpers: Iterable[TaskHelper]) -> dict[str, TaskHelper]:
    """A kind's registry: task -> helper (each task once)."""
    registry: dict[str, TaskHelper] = {}
    for helper in helpers:
        if helper.task in registry:
            raise ValueError(f"two helpers claim {helper.task!r}")
        registry[helper.task] = helper
    return registry
