"""Retries, timeouts, connection failures and broken answers, against the stand-in
server (``standin.py``), sync and async; and the pure retry rules."""

from __future__ import annotations

import random
import time
import uuid
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from conftest import Factory
from gatewayz_py_hf import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APIStreamError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
)
from gatewayz_py_hf._constants import MAX_RETRY_DELAY_S
from gatewayz_py_hf._retries import _calculate_retry_timeout, _should_retry
from live import Server, free_port

KEY = "gwz_standin-key-0c5d"


def scenario(standin: Server, status: int, fails: int, options: str = "-") -> tuple[str, str]:
    """(base url, counter key) of a fresh stand-in scenario."""
    key = uuid.uuid4().hex[:12]
    return f"{standin.url}/s/{key}/{status}/{fails}/{options}", key


def seen(standin: Server, key: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{standin.url}/count/{key}").json()
    return answer


def test_fails_twice_then_succeeds_honouring_retry_after(
    make_client: Factory, standin: Server
) -> None:
    base, key = scenario(standin, 503, 2, "ra=0.2")
    client = make_client(KEY, base_url=base)  # default max_retries: 2
    started = time.monotonic()
    result = client.text_generation("hi")
    elapsed = time.monotonic() - started
    assert result.generated_text == "recovered" and result.inference_id == f"standin-{key}-3"
    assert seen(standin, key)["calls"] == 3
    # Two waits of Retry-After 0.2 s; the default backoff would take at least 1.1 s.
    assert 0.4 <= elapsed < 1.0


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retried_statuses(make_client: Factory, standin: Server, status: int) -> None:
    base, key = scenario(standin, status, 1, "ra=0.01")
    assert make_client(KEY, base_url=base).text_generation("hi").generated_text == "recovered"
    assert seen(standin, key)["calls"] == 2


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422])
def test_client_errors_are_not_retried(make_client: Factory, standin: Server, status: int) -> None:
    base, key = scenario(standin, status, 1, "ra=0.01")
    with pytest.raises(APIStatusError) as info:
        make_client(KEY, base_url=base).text_generation("hi")
    assert info.value.status_code == status and seen(standin, key)["calls"] == 1
    assert info.value.request_id == f"standin-{key}-1"


def test_retries_exhausted(make_client: Factory, standin: Server) -> None:
    base, key = scenario(standin, 429, 99, "ra=0.01")
    with pytest.raises(RateLimitError) as info:
        make_client(KEY, base_url=base, max_retries=3).chat_completion(
            [{"role": "user", "content": "hi"}]
        )
    assert seen(standin, key)["calls"] == 4
    err = info.value
    assert err.status_code == 429 and err.message == "stand-in failure 429"
    assert err.request_id == f"standin-{key}-4" and err.error_type == "standin"
    base, key = scenario(standin, 500, 99, "ra=0.01")
    with pytest.raises(InternalServerError):
        make_client(KEY, base_url=base, max_retries=0).text_generation("hi")
    assert seen(standin, key)["calls"] == 1


def test_timeout(make_client: Factory, standin: Server) -> None:
    base, key = scenario(standin, 200, 0, "sleep=1.5")
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        make_client(KEY, base_url=base, timeout=0.3, max_retries=1).text_generation("hi")
    assert time.monotonic() - started < 1.5
    assert seen(standin, key)["calls"] == 2  # a timeout is retried


def test_connection_error(make_client: Factory) -> None:
    client = make_client(KEY, base_url=f"http://127.0.0.1:{free_port()}", max_retries=1)
    started = time.monotonic()
    with pytest.raises(APIConnectionError) as info:
        client.list_models()
    assert not isinstance(info.value, APITimeoutError)
    assert time.monotonic() - started >= 0.3  # one backoff before the retry


def test_error_event_mid_stream(make_client: Factory, standin: Server) -> None:
    base, key = scenario(standin, 200, 0, "stream=error")
    client = make_client(KEY, base_url=base)
    with pytest.raises(APIStreamError) as info:
        client.collect("chat_completion_stream", [{"role": "user", "content": "x"}])
    assert info.value.message == "upstream went away"
    assert info.value.error_type == "upstream_error"
    assert info.value.request_id == f"standin-{key}-1"


def test_answer_that_is_not_json(make_client: Factory, standin: Server) -> None:
    base, _ = scenario(standin, 200, 0, "body=garbage")
    with pytest.raises(APIResponseValidationError) as info:
        make_client(KEY, base_url=base).text_generation("hi")
    assert info.value.status_code == 200


def test_one_pooled_connection_and_headers(make_client: Factory, standin: Server) -> None:
    base, key = scenario(standin, 200, 0)
    client = make_client(KEY, base_url=base)
    for _ in range(3):
        client.text_generation("hi")
    record = seen(standin, key)
    assert len(set(record["peers"])) == 1
    headers = record["headers"]
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["user-agent"].startswith("gatewayz-py-hf/")


def test_should_retry() -> None:
    for status in (408, 409, 429, 500, 501, 502, 503, 504):
        assert _should_retry(status)
    for status in (200, 400, 401, 402, 403, 404, 413, 422):
        assert not _should_retry(status)
    assert _should_retry(400, {"x-should-retry": "true"})
    assert not _should_retry(503, {"x-should-retry": "false"})


def test_calculate_retry_timeout() -> None:
    rng = random.Random(7)
    assert _calculate_retry_timeout(0, {"retry-after": "3"}) == 3
    assert _calculate_retry_timeout(0, {"retry-after-ms": "250"}) == 0.25
    in_2s = formatdate(time.time() + 2, usegmt=True)
    assert 0.5 < _calculate_retry_timeout(0, {"retry-after": in_2s}) <= 2
    for n in range(8):
        expected = min(0.5 * 2**n, MAX_RETRY_DELAY_S)
        for headers in (
            None,
            {"retry-after": "600"},
            {"retry-after": "0"},
            {"retry-after": "soon"},
        ):
            wait = _calculate_retry_timeout(n, headers, rng)
            assert 0.75 * expected <= wait <= expected  # backoff less up to 25% jitter
    waits = {_calculate_retry_timeout(1, None, rng) for _ in range(20)}
    assert len(waits) > 10  # jittered
