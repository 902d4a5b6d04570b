"""What the gateway knows about one request while it is being served."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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

    def latency_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)
