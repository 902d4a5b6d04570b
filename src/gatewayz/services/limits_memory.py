"""The rate-limit backend of one process: sliding logs in memory. Each decision runs
without an ``await``, so on one event loop it is atomic."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

from gatewayz.services.limits import (
    CONCURRENCY,
    CONCURRENCY_RETRY_S,
    REQUESTS,
    TOKENS,
    TOO_LARGE,
    Decision,
    Rule,
    RuleState,
)


class _Log:
    """One subject's admissions in the current window, and its requests in flight."""

    __slots__ = ("inflight", "requests", "token_of", "token_sum", "tokens")

    def __init__(self) -> None:
        self.requests: deque[float] = deque()
        self.tokens: deque[tuple[float, str]] = deque()
        self.token_of: dict[str, int] = {}
        self.token_sum = 0
        self.inflight: set[str] = set()

    def prune(self, edge: float) -> None:
        requests, tokens = self.requests, self.tokens
        while requests and requests[0] <= edge:
            requests.popleft()
        while tokens and tokens[0][0] <= edge:
            self.token_sum -= self.token_of.pop(tokens.popleft()[1])

    def refusal(self, rule: Rule, tokens: int, now: float, window: float) -> tuple[int, float]:
        """(kind, retry after) if ``rule`` refuses one more request of ``tokens``."""
        if rule.rpm and len(self.requests) >= rule.rpm:
            return REQUESTS, self.requests[len(self.requests) - rule.rpm] + window - now
        if rule.tpm:
            if tokens > rule.tpm:
                return TOO_LARGE, window
            excess = self.token_sum + tokens - rule.tpm
            if excess > 0:
                for at, lease in self.tokens:
                    excess -= self.token_of[lease]
                    if excess <= 0:
                        return TOKENS, at + window - now
                return TOKENS, window
        if rule.concurrency and len(self.inflight) >= rule.concurrency:
            return CONCURRENCY, CONCURRENCY_RETRY_S
        return 0, 0.0

    def state(self, now: float, window: float) -> RuleState:
        return RuleState(
            len(self.requests),
            self.requests[0] + window - now if self.requests else 0.0,
            self.token_sum,
            self.tokens[0][0] + window - now if self.tokens else 0.0,
        )


class MemoryLimits:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._logs: dict[str, _Log] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def acquire(
        self, rules: Sequence[Rule], lease: str, tokens: int, window_s: float
    ) -> Decision:
        now = self._clock()
        logs = []
        refused: tuple[int, int, float] | None = None
        for index, rule in enumerate(rules):
            entry = self._logs.get(rule.subject)
            if entry is None:
                entry = self._logs[rule.subject] = _Log()
            entry.prune(now - window_s)
            logs.append(entry)
            if refused is None:
                kind, retry = entry.refusal(rule, tokens, now, window_s)
                if kind:
                    refused = (index, kind, retry)
        if refused is None:
            for rule, entry in zip(rules, logs, strict=True):
                if rule.rpm:
                    entry.requests.append(now)
                if rule.tpm:
                    entry.tokens.append((now, lease))
                    entry.token_of[lease] = tokens
                    entry.token_sum += tokens
                if rule.concurrency:
                    entry.inflight.add(lease)
        states = [entry.state(now, window_s) for entry in logs]
        if refused is None:
            return Decision(True, states)
        return Decision(False, states, refused[0], refused[1], refused[2])

    async def settle(
        self,
        rules: Sequence[Rule],
        lease: str,
        estimate: int,
        actual: int,
        stamp: int = 0,
        window_s: float = 0.0,
    ) -> None:
        for rule in rules:
            entry = self._logs.get(rule.subject)
            if entry is None:
                continue
            entry.inflight.discard(lease)
            held = entry.token_of.get(lease)
            if held is not None:  # still in the window: count what was really used
                entry.token_of[lease] = actual
                entry.token_sum += actual - held
