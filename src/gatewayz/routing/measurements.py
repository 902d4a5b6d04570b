"""Moving windows of how a route performs: the last ``window`` calls, summarised as
medians (a single slow call moves nothing; a route that slows down moves the median once
half of the window has seen it).

- latency: seconds from sending the request to its last byte, successful calls only;
- time to first token: seconds from sending a streamed request to its first chunk;
- throughput: output tokens per second of generation, per call (a stream counts from its
  first chunk, a non-streamed answer over its whole latency), calls that report tokens;
- error ratio: the share of failed calls (5xx, 429, timeouts, unreachable, broken
  answers) in the window. A caller's own mistake (a 400 passed on) is not counted.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    ok: bool
    latency_s: float | None = None
    first_token_s: float | None = None
    tokens_per_s: float | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    samples: int
    error_ratio: float
    latency_s: float | None
    first_token_s: float | None
    tokens_per_s: float | None


EMPTY = Summary(0, 0.0, None, None, None)


def _median(ordered: list[float]) -> float | None:
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _remove(ordered: list[float], value: float | None) -> None:
    if value is not None:
        del ordered[bisect_left(ordered, value)]


def _insert(ordered: list[float], value: float | None) -> None:
    if value is not None:
        insort(ordered, value)


class Window:
    """The samples of one route, with each figure also kept sorted, so that a sample costs
    a few binary searches and a median is read, not computed (a ``:fastest`` decision
    reads one per route)."""

    __slots__ = ("_failed", "_first_token", "_latency", "_samples", "_summary", "_throughput")

    def __init__(self, size: int) -> None:
        self._samples: deque[Sample] = deque(maxlen=size)
        self._latency: list[float] = []
        self._first_token: list[float] = []
        self._throughput: list[float] = []
        self._failed = 0
        self._summary: Summary | None = EMPTY

    def add(self, sample: Sample) -> None:
        if len(self._samples) == self._samples.maxlen:
            self._update(self._samples[0], _remove, -1)  # about to leave the window
        self._samples.append(sample)
        self._update(sample, _insert, 1)
        self._summary = None

    def _update(
        self, sample: Sample, change: Callable[[list[float], float | None], None], sign: int
    ) -> None:
        if not sample.ok:
            self._failed += sign
            return
        change(self._latency, sample.latency_s)
        change(self._first_token, sample.first_token_s)
        change(self._throughput, sample.tokens_per_s)

    @property
    def summary(self) -> Summary:
        if self._summary is None:
            count = len(self._samples)
            self._summary = Summary(
                samples=count,
                error_ratio=self._failed / count,
                latency_s=_median(self._latency),
                first_token_s=_median(self._first_token),
                tokens_per_s=_median(self._throughput),
            )
        return self._summary
