"""When to retry an HTTP call, and how long to wait: named constants and pure functions.

The rules follow openai-python (``_should_retry``, ``_calculate_retry_timeout``): retry a
timeout (408), a rate limit (429) and any 5xx; honour ``Retry-After`` (seconds or an HTTP
date) when it is positive and at most ``RETRY_AFTER_CAP_S``; otherwise back off
exponentially from ``INITIAL_RETRY_DELAY_S`` up to ``MAX_RETRY_DELAY_S``, less up to 25%
jitter so that many clients do not retry in step.

Unlike openai-python, 409 is not retried: the Hugging Face Hub answers 409 when a mapping
already exists, and asking again cannot change that answer.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RETRIES = 2
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
RETRY_AFTER_CAP_S = 60.0
RETRY_STATUSES = frozenset({408, 429})
# The status of a call whose connection dropped before any answer.
NO_ANSWER = 0


def is_retryable(status: int) -> bool:
    """A status worth asking again for (``NO_ANSWER``: the connection failed)."""
    return status == NO_ANSWER or status in RETRY_STATUSES or status >= 500


def should_retry(status: int, retries_done: int, max_retries: int = MAX_RETRIES) -> bool:
    return retries_done < max_retries and is_retryable(status)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()


def retry_delay(
    retries_done: int, retry_after: str | None = None, rng: random.Random | None = None
) -> float:
    """Seconds to sleep before retry number ``retries_done + 1``."""
    wait = parse_retry_after(retry_after)
    if wait is not None and 0 < wait <= RETRY_AFTER_CAP_S:
        return wait
    backoff = min(INITIAL_RETRY_DELAY_S * 2.0**retries_done, MAX_RETRY_DELAY_S)
    jitter = 1 - 0.25 * (rng or random).random()
    return backoff * jitter
