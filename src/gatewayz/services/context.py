"""What the gateway knows about one request while it is being served."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gatewayz.routing.policy import Policy
from gatewayz.services.keys import Principal
from gatewayz.upstreams.base import Stopwatch


@dataclass(slots=True)
class RequestContext:
    request_id: str
    route: str
    principal: Principal
    started: float = field(default_factory=time.perf_counter)
    model: str = ""
    cost_nano_usd: int = 0
    # The credits held for this request (None: the key holds none); it is never charged more.
    hold_nano_usd: int | None = None
    watch: Stopwatch = field(default_factory=Stopwatch)
    # The tokens (input + output) the usage record billed: what rate limits count.
    tokens: int = 0
    # ``x-ratelimit-*`` headers for the response (keys and models with limits only), and
    # ``x-gatewayz-route``: extra response headers.
    rate_headers: list[tuple[bytes, bytes]] | None = None
    # The routing policy the caller asked for (``model:fastest``...), or the model's default.
    policy: Policy | None = None

    def add_header(self, name: bytes, value: bytes) -> None:
        self.rate_headers = [*(self.rate_headers or ()), (name, value)]

    def latency_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)
