"""One upstream attempt under the shared retry rules (``gatewayz.retries``): an answer of
408, 429 or 5xx is asked again up to ``max_retries`` times, after ``Retry-After`` when
the upstream gives one (unless it asks for longer than a caller should wait: then the
answer is passed on) or a jittered backoff. Anything else (a connection refused, which
the caller fails over instead, a timeout, a broken or refused answer) is raised at once.

Used by every non-streamed upstream call (``OpenAIUpstream.post``, which Hugging Face
upstreams inherit: chat, completions, responses and every task), and by the opening of a
stream (until its first chunk; nothing is retried once a byte has reached the caller).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gatewayz.errors import UpstreamError
from gatewayz.retries import parse_retry_after, retry_delay, should_retry

T = TypeVar("T")

# A retry the upstream asks to wait longer for is not made: the caller gets the answer.
MAX_UPSTREAM_RETRY_WAIT_S = 5.0


def retry_wait(exc: UpstreamError, retries_done: int, max_retries: int) -> float | None:
    """Seconds to wait before asking again after ``exc``, or None: do not."""
    status = exc.upstream_status
    if status is None or not should_retry(status, retries_done, max_retries):
        return None
    if (parse_retry_after(exc.upstream_retry_after) or 0.0) > MAX_UPSTREAM_RETRY_WAIT_S:
        return None
    return retry_delay(retries_done, exc.upstream_retry_after)


async def with_retries(attempt: Callable[[], Awaitable[T]], max_retries: int) -> T:
    """``attempt()``, asked again on a retryable upstream answer."""
    retries = 0
    while True:
        try:
            return await attempt()
        except UpstreamError as exc:
            wait = retry_wait(exc, retries, max_retries)
            if wait is None:
                raise
        await asyncio.sleep(wait)
        retries += 1
