"""The interface every upstream adapter implements.

The gateway's internal currency is the OpenAI wire format: an adapter takes an OpenAI-style
request body for one operation (``chat`` -> chat completions, ``completion`` -> text
completions) and returns OpenAI-style answers, whatever the upstream actually speaks. The
one exception, ``responses``, is only sent to servers that speak the Responses API.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from typing import Any, ClassVar, Literal

from gatewayz.config import ProviderConfig
from gatewayz.errors import TaskNotSupported
from gatewayz.redact import Redactor
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.tasks.registry import TEXT_TASKS

# ``responses``: OpenAI's Responses API, passed through (to providers with ``responses_api``).
Operation = Literal["chat", "completion", "responses"]
JSONDict = dict[str, Any]


class Stopwatch:
    """Accumulates the time spent waiting on an upstream, to report gateway overhead."""

    __slots__ = ("upstream_s",)

    def __init__(self) -> None:
        self.upstream_s = 0.0

    def since(self, start: float) -> None:
        self.upstream_s += time.perf_counter() - start


def serves(task_helpers: Iterable[str]) -> frozenset[str]:
    """The tasks of a kind: chat and text generation, which every kind serves, plus those
    it has a task helper (or embedded handler) for."""
    return frozenset({*TEXT_TASKS, *task_helpers})


class Upstream(ABC):
    kind: ClassVar[str]
    tasks: ClassVar[frozenset[str]]

    def __init__(self, config: ProviderConfig, redactor: Redactor) -> None:
        self.config = config
        self.name = config.name
        # Every piece of upstream text a caller or a log line gets goes through this.
        self.redactor = redactor

    async def start(self) -> None:
        """Open pools; called once when the app starts."""

    async def close(self) -> None:
        """Release pools; called once when the app stops."""

    async def run_task(self, model: str, request: TaskRequest, watch: Stopwatch) -> TaskResult:
        """Serve a non-chat HF task (see ``tasks``); kinds that serve some override this."""
        raise TaskNotSupported(f"provider {self.name!r} does not serve {request.task!r}")

    @abstractmethod
    async def create(self, op: Operation, payload: JSONDict, watch: Stopwatch) -> JSONDict:
        """One non-streamed answer, OpenAI-shaped, ``usage`` included."""

    @abstractmethod
    def stream(self, op: Operation, payload: JSONDict, watch: Stopwatch) -> AsyncIterator[JSONDict]:
        """OpenAI-shaped chunks; the last one carries ``usage`` when the upstream gives it."""
