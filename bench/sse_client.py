"""Time to first token and the whole stream, at one connection, measured from the client.

wrk times whole responses only; this sends streamed chat completions one after another on
one kept-alive connection and takes, for each, the time until the first event's bytes
arrive (TTFT) and until the stream has ended. The client's own cost is the same for every
target, so differences between targets are what each adds."""

from __future__ import annotations

import http.client
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class StreamTimes:
    ttft_p50_ms: float
    ttft_p99_ms: float
    total_p50_ms: float
    span_p50_ms: float  # from the first byte of the body to its end
    streams: int
    failed: int


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def measure_stream(url: str, path: str, body: str, key: str, duration: float) -> StreamTimes:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {key}",
        "Accept": "text/event-stream",
    }
    payload = body.encode()
    ttft: list[float] = []
    total: list[float] = []
    span: list[float] = []
    failed = 0
    deadline = time.perf_counter() + duration
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            conn.request("POST", path, payload, headers)
            resp = conn.getresponse()
            first = resp.read1()
            got_first = time.perf_counter()
            rest = resp.read()
            ended = time.perf_counter()
            if resp.status != 200 or b"[DONE]" not in first + rest:
                failed += 1
                continue
            ttft.append((got_first - started) * 1000)
            total.append((ended - started) * 1000)
            span.append((ended - got_first) * 1000)
    finally:
        conn.close()
    if not ttft:
        raise RuntimeError(f"no stream from {url}{path} succeeded ({failed} failed)")
    return StreamTimes(
        statistics.median(ttft),
        _percentile(ttft, 0.99),
        statistics.median(total),
        statistics.median(span),
        len(ttft),
        failed,
    )
