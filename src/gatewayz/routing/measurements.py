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

from collections import deque
from dataclasses import dataclass
from statistics import median


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


def _median(values: list[float]) -> float | None:
    return median(values) if values else None


class Window:
    """The samples of one route; ``summary`` is recomputed on each sample, so reading it
    (every routing decision does) costs nothing."""

    __slots__ = ("_samples", "summary")

    def __init__(self, size: int) -> None:
        self._samples: deque[Sample] = deque(maxlen=size)
        self.summary = EMPTY

    def add(self, sample: Sample) -> None:
        self._samples.append(sample)
        samples = self._samples
        ok = [s for s in samples if s.ok]
        self.summary = Summary(
            samples=len(samples),
            error_ratio=1 - len(ok) / len(samples),
            latency_s=_median([s.latency_s for s in ok if s.latency_s is not None]),
            first_token_s=_median([s.first_token_s for s in ok if s.first_token_s is not None]),
            tokens_per_s=_median([s.tokens_per_s for s in ok if s.tokens_per_s is not None]),
        )
