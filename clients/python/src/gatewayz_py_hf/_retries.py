"""When to retry a call and how long to wait: pure functions over the answer's status and
headers, so both clients share exactly one rule.

Retried: 408, 409, 429 and every 5xx, and calls that never got an answer (connection
failures and timeouts). The wait honours ``Retry-After`` (seconds or an HTTP date) and
``retry-after-ms`` when positive and at most ``RETRY_AFTER_CAP_S``; otherwise it backs off
exponentially from ``INITIAL_RETRY_DELAY_S`` up to ``MAX_RETRY_DELAY_S``, less up to 25%
jitter so that many clients do not retry in step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from gatewayz_py_hf._constants import (
    INITIAL_RETRY_DELAY_S,
    MAX_RETRY_DELAY_S,
    RETRY_AFTER_CAP_S,
    RETRY_STATUSES,
)


def _should_retry(status: int, headers: Mapping[str, str] | None = None) -> bool:
    """Whether an answer with this status is worth asking for again.

    A server may decide for itself with ``x-should-retry: true|false``."""
    explicit = (headers or {}).get("x-should-retry")
    if explicit == "true":
        return True
    if explicit == "false":
        return False
    return status in RETRY_STATUSES or status >= 500


def _parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, or None when it did not say (or said nonsense)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
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
    return when.timestamp() - (time.time() if now is None else now)


def _calculate_retry_timeout(
    retries_done: int,
    headers: Mapping[str, str] | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to sleep before retry number ``retries_done + 1``."""
    wait = _parse_retry_after(headers)
    if wait is not None and 0 < wait <= RETRY_AFTER_CAP_S:
        return wait
    backoff = min(INITIAL_RETRY_DELAY_S * 2.0**retries_done, MAX_RETRY_DELAY_S)
    jitter = 1 - 0.25 * (rng or random).random()
    return backoff * jitter
