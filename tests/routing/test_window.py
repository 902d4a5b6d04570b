"""The measurement window keeps its medians incrementally: they must always equal the
medians recomputed from the window's samples."""

from __future__ import annotations

import random
import statistics

from gatewayz.routing.measurements import Sample, Window


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def test_incremental_medians_equal_recomputed_ones() -> None:
    rng = random.Random(3)
    window, history = Window(7), []
    for _ in range(2000):
        sample = Sample(
            rng.random() > 0.3,
            rng.choice([None, rng.random()]),
            rng.choice([None, rng.random()]),
            rng.choice([None, rng.random()]),
        )
        window.add(sample)
        history.append(sample)
        last = history[-7:]
        ok = [s for s in last if s.ok]
        got = window.summary
        assert got.samples == len(last)
        assert abs(got.error_ratio - (1 - len(ok) / len(last))) < 1e-12
        assert got.latency_s == _median([s.latency_s for s in ok])
        assert got.first_token_s == _median([s.first_token_s for s in ok])
        assert got.tokens_per_s == _median([s.tokens_per_s for s in ok])
