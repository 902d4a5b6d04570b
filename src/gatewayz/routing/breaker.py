"""A circuit breaker for one route.

``closed`` (normal) -> ``open`` after ``failures_to_open`` failed calls in a row, or
when the share of failures among the last calls reaches ``error_ratio_to_open``, or at
once when no connection could be made within the connect timeout (a dead host then costs
one timeout, not one per request). ``open`` routes are skipped.
After ``cooldown_s`` one call is let through (``half_open``): its success closes the
breaker with a clean slate, its failure opens it for another cool-down. A breaker
therefore opens at most once per cool-down, however the upstream fails.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Literal

from gatewayz.config import RoutingSettings

State = Literal["closed", "open", "half_open"]
STATE_VALUES: dict[State, int] = {"closed": 0, "open": 1, "half_open": 2}


class Breaker:
    __slots__ = ("_calls", "_changed", "_failures", "_opened_at", "_probe_at", "_s", "state")

    def __init__(self, settings: RoutingSettings, changed: Callable[[State], None]) -> None:
        self._s = settings
        self._changed = changed  # told of every transition (metrics)
        self.state: State = "closed"
        self._failures = 0  # failed answers in a row
        self._calls: deque[bool] = deque(maxlen=settings.window)  # True: failed
        self._opened_at = 0.0
        self._probe_at: float | None = None

    def _to(self, state: State) -> None:
        self.state = state
        self._changed(state)

    def acquire(self, now: float) -> bool:
        """May a call go to this route now? A half-open route lets one probe through
        (another one if the probe was never heard of again within a cool-down)."""
        if self.state == "closed":
            return True
        if self.state == "open":
            if now < self._opened_at + self._s.cooldown_s:
                return False
            self._to("half_open")
        elif self._probe_at is not None and now < self._probe_at + self._s.cooldown_s:
            return False
        self._probe_at = now
        return True

    def retry_after(self, now: float) -> float:
        """Seconds until this route may be tried again (0 when it may be now)."""
        if self.state == "open":
            return max(self._opened_at + self._s.cooldown_s - now, 0.0)
        if self.state == "half_open" and self._probe_at is not None:
            return max(self._probe_at + self._s.cooldown_s - now, 0.0)
        return 0.0

    def succeeded(self) -> None:
        self._failures = 0
        if self.state != "closed":
            self._calls.clear()
            self._probe_at = None
            self._to("closed")
        else:
            self._calls.append(False)

    def failed(self, now: float, dead: bool = False) -> None:
        if self.state == "half_open":
            self._open(now)
            return
        if self.state == "open":  # a call let through before it opened
            return
        self._failures += 1
        self._calls.append(True)
        ratio_reached = len(self._calls) >= self._s.min_calls_for_ratio and sum(
            self._calls
        ) >= self._s.error_ratio_to_open * len(self._calls)
        if dead or self._failures >= self._s.failures_to_open or ratio_reached:
            self._open(now)

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._probe_at = None
        self._failures = 0
        self._to("open")
