"""The reset durations of the ``x-ratelimit-*`` headers, in OpenAI's format, as made for
every response of a limited key (kept per millisecond value)."""

from __future__ import annotations

import pytest

from gatewayz.services.limits import _Durations, duration

CASES = [
    (-1.0, "0s"),
    (0.0, "0s"),
    (1e-9, "1ms"),
    (0.0004, "1ms"),
    (0.0201, "21ms"),
    (0.999, "999ms"),
    (0.99999, "1000ms"),
    (1.0, "1s"),
    (1.0004, "1s"),
    (1.5, "1.5s"),
    (12.34, "12.34s"),
    (59.9996, "1m0s"),
    (60.0, "1m0s"),
    (360.0, "6m0s"),
    (371.25, "6m11.25s"),
]


@pytest.mark.parametrize(("seconds", "text"), CASES)
def test_duration_and_its_cached_bytes_agree(seconds: float, text: str) -> None:
    durations = _Durations()
    assert duration(seconds) == text
    assert durations(seconds) == text.encode()
    assert durations(seconds) == text.encode()  # the kept value, asked again
