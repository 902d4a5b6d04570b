"""One probe's outcome, and the helpers probes use to make one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

Result = Literal["pass", "fail", "skip"]
T = TypeVar("T")
_MAX_REASON = 400


@dataclass(frozen=True, slots=True)
class Outcome:
    probe: str
    client: str
    result: Result
    reason: str | None = None
    latency_ms: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def reason_of(exc: BaseException) -> str:
    """An exception as one short line: its type and message (a client's HTTP error
    carries the status and the gateway's error text)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """``call()``'s result and the seconds it took."""
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)
