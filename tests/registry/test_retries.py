"""The shared retry rules: which statuses are retried and how long to wait."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from gatewayz.retries import (
    INITIAL_RETRY_DELAY_S,
    MAX_RETRIES,
    MAX_RETRY_DELAY_S,
    RETRY_AFTER_CAP_S,
    parse_retry_after,
    retry_delay,
    should_retry,
)


@pytest.mark.parametrize("status", [0, 408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert should_retry(status, 0)
    assert not should_retry(status, MAX_RETRIES)


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 409, 422])
def test_statuses_that_a_retry_cannot_fix(status: int) -> None:
    assert not should_retry(status, 0)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7)), now) == 7
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retry_after_is_honoured_within_the_cap() -> None:
    assert retry_delay(0, "3") == 3
    rng = random.Random(1)
    too_long = retry_delay(0, str(RETRY_AFTER_CAP_S + 1), rng)
    assert too_long <= INITIAL_RETRY_DELAY_S  # falls back to the backoff


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    for retries_done in range(8):
        base = min(INITIAL_RETRY_DELAY_S * 2**retries_done, MAX_RETRY_DELAY_S)
        delay = retry_delay(retries_done, None, rng)
        assert 0.75 * base <= delay <= base
