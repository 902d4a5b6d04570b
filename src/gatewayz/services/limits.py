"""Rate limits: requests and tokens per window (a minute by default) and requests in
flight, per API key and per model, decided in one atomic step by a backend.

A request is admitted against every rule that applies to it (its key's, its model's) at
once or not at all. Each rule counts in a *sliding log*: at most N requests (or tokens)
were admitted in any window, including across what a fixed window would call its edge.
Tokens are admitted on an estimate (see ``estimate_tokens``) and corrected to the usage
record's count when the request ends; the slot in flight is given back at the same time.

Backends: ``limits_memory.MemoryLimits`` (one process) and ``limits_redis.RedisLimits``
(several workers or instances). When Redis does not answer, ``redis_unavailable`` decides:
``allow`` (counted in ``/metrics`` and logged) or ``deny`` (503).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gatewayz.config import ConfigError, LimitSettings, RateLimits, Settings
from gatewayz.errors import LimiterUnavailable, RateLimited
from gatewayz.services.bounds import Bound
from gatewayz.services.context import RequestContext
from gatewayz.services.keys import KeyLimits
from gatewayz.services.metrics import Metrics

log = logging.getLogger("gatewayz.limits")

# Why a backend refused: the kind of limit that was reached.
REQUESTS, TOKENS, CONCURRENCY, TOO_LARGE = 1, 2, 3, 4
_KINDS = {REQUESTS: "requests", TOKENS: "tokens", CONCURRENCY: "concurrency", TOO_LARGE: "tokens"}
# A slot in flight frees when some request ends: there is no schedule to announce.
CONCURRENCY_RETRY_S = 1.0
# After this many failures in a row Redis is taken for down: it is not asked again for
# BACKOFF_S (requests fail fast meanwhile). One slow answer alone (a stalled event loop)
# does not make every request of the next second unlimited.
DOWN_AFTER_FAILURES = 3
BACKOFF_S = 1.0
_LOG_EVERY_S = 10.0


class BackendUnavailable(Exception):
    """The shared limiter state could not be reached in time."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One limited subject (``k:<key id>`` or ``m:<model id>``); 0 is no limit."""

    scope: str
    subject: str
    rpm: int
    tpm: int
    concurrency: int


@dataclass(slots=True)
class RuleState:
    """After a decision: what the rule's window holds, and in how many seconds its oldest
    entry leaves it (when the remaining count next goes up)."""

    requests_used: int
    requests_reset_s: float
    tokens_used: int
    tokens_reset_s: float


@dataclass(slots=True)
class Decision:
    admitted: bool
    states: Sequence[RuleState]
    refused_rule: int = -1  # index into the rules
    refused_kind: int = 0
    retry_after_s: float = 0.0
    stamp: int = 0  # the backend's own mark of the admission, handed back to ``settle``


class LimitBackend(Protocol):
    async def acquire(
        self, rules: Sequence[Rule], lease: str, tokens: int, window_s: float
    ) -> Decision:
        """Admit against every rule or none, atomically."""

    async def settle(
        self,
        rules: Sequence[Rule],
        lease: str,
        estimate: int,
        actual: int,
        stamp: int,
        window_s: float,
    ) -> None:
        """Correct the lease's tokens to ``actual`` and give back its slot in flight."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Plan:
    """What applies to requests of one key (with its limits) on one model, made once."""

    rules: tuple[Rule, ...]
    counts_tokens: bool  # some rule limits tokens
    holds_slot: bool  # some rule limits requests in flight


@dataclass(slots=True)
class Lease:
    rules: Sequence[Rule]
    id: str
    estimate: int
    holds_slot: bool = False  # some rule limits requests in flight
    counts_tokens: bool = False  # some rule limits tokens
    stamp: int = 0  # the decision's, for the backend
    released: bool = False


def estimate_tokens(bound: Bound) -> int:
    """What a request is admitted at: its prompt at ~4 bytes per token (the bound counts
    one per byte) plus every output token it may ask for; corrected when it ends."""
    return -(-bound.usage.input_tokens // 4) + bound.usage.output_tokens


def duration(seconds: float) -> str:
    """OpenAI's reset format: ``20ms``, ``1s``, ``1.5s``, ``6m0s`` (under a second, up
    to the next millisecond; from a second on, to the nearest one)."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    return _of_ms(round(seconds * 1000))


def _of_ms(ms: int) -> str:
    """``duration`` of a whole number of milliseconds from one second on, in integers."""
    minutes, ms = divmod(ms, 60_000)
    whole, frac = divmod(ms, 1000)
    text = f"{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else str(whole)
    return f"{minutes}m{text}s" if minutes else f"{text}s"


class _Durations:
    """``duration(seconds).encode()`` for response headers, kept per millisecond: every
    response of a limited key carries two, and a window holds only so many milliseconds."""

    __slots__ = ("_made",)
    _MAX = 200_000

    def __init__(self) -> None:
        self._made: dict[int, bytes] = {}

    def __call__(self, seconds: float) -> bytes:
        if seconds < 1:  # (rounded up: ``duration``)
            ms = math.ceil(seconds * 1000) if seconds > 0 else 0
            tag = -ms  # under a second: its own key, ``ms`` differs in meaning
        else:
            ms = tag = round(seconds * 1000)
        made = self._made.get(tag)
        if made is None:
            if len(self._made) >= self._MAX:
                self._made.clear()
            text = (f"{ms}ms" if ms else "0s") if tag <= 0 else _of_ms(ms)
            made = self._made[tag] = text.encode()
        return made


def _pick(key: int | None, default: int | None) -> int:
    return (default or 0) if key is None else key


class RateLimiter:
    """Turns a request's key and model into rules, asks the backend, and answers for it:
    the ``x-ratelimit-*`` headers on the context, or ``RateLimited`` (429)."""

    def __init__(
        self, settings: LimitSettings, backend: LimitBackend | None, metrics: Metrics
    ) -> None:
        self._default = settings.default
        self._any_default = settings.default.any
        self._models: dict[str, RateLimits] = {k: v for k, v in settings.models.items() if v.any}
        self._window_s = settings.window_s
        self._deny = settings.redis_unavailable == "deny"
        self._backend = backend
        self._metrics = metrics
        self._pending: set[asyncio.Task[None]] = set()
        self._plans: dict[tuple[int, KeyLimits | None, str], _Plan] = {}
        self._down_until = 0.0
        self._failures = 0
        self._logged_at = 0.0
        self._durations = _Durations()

    async def start(self) -> None:
        if self._backend is not None:
            await self._backend.start()

    async def close(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=2)
        if self._backend is not None:
            await self._backend.close()

    def _plan(self, key_id: int, key: KeyLimits | None, model_id: str) -> _Plan:
        which = (key_id, key, model_id)
        plan = self._plans.get(which)
        if plan is None:
            if len(self._plans) > 100_000:
                self._plans.clear()
            rules = tuple(self._rules(key_id, key, model_id))
            tokens = any(r.tpm for r in rules)
            plan = self._plans[which] = _Plan(rules, tokens, any(r.concurrency for r in rules))
        return plan

    def _rules(self, key_id: int, key: KeyLimits | None, model_id: str) -> list[Rule]:
        rules = []
        d = self._default
        if key is not None or self._any_default:
            own = key or KeyLimits()
            rpm = _pick(own.rpm, d.rpm)
            tpm = _pick(own.tpm, d.tpm)
            conc = _pick(own.max_concurrency, d.max_concurrency)
            if rpm or tpm or conc:
                rules.append(Rule("key", f"k:{key_id}", rpm, tpm, conc))
        m = self._models.get(model_id)
        if m is not None:
            rules.append(
                Rule("model", f"m:{model_id}", m.rpm or 0, m.tpm or 0, m.max_concurrency or 0)
            )
        return rules

    async def admit(self, ctx: RequestContext, model_id: str, bound: Bound) -> Lease | None:
        """Admit the request or raise ``RateLimited``; None when no limit applies (the
        common case costs two dictionary look-ups)."""
        principal = ctx.principal
        if principal.limits is None and not self._any_default and model_id not in self._models:
            return None
        plan = self._plan(principal.key_id, principal.limits, model_id)
        rules = plan.rules
        if not rules or self._backend is None:
            return None
        tokens = max(estimate_tokens(bound), 1) if plan.counts_tokens else 0
        try:
            decision = await self._acquire(rules, ctx.request_id, tokens)
        except BackendUnavailable as exc:
            self._unavailable(exc)
            return None
        ctx.rate_headers = _headers(rules, decision.states, self._durations)
        if not decision.admitted:
            self._refuse(ctx, rules, decision, tokens)
        return Lease(
            rules, ctx.request_id, tokens, plan.holds_slot, plan.counts_tokens, decision.stamp
        )

    async def _acquire(self, rules: Sequence[Rule], lease: str, tokens: int) -> Decision:
        assert self._backend is not None
        if time.monotonic() < self._down_until:
            raise BackendUnavailable("the limiter's store failed a moment ago")
        try:
            decision = await self._backend.acquire(rules, lease, tokens, self._window_s)
        except BackendUnavailable:
            self._failures += 1
            if self._failures >= DOWN_AFTER_FAILURES:
                self._down_until = time.monotonic() + BACKOFF_S
            raise
        self._failures = 0
        return decision

    def _unavailable(self, exc: BackendUnavailable) -> None:
        outcome = "denied" if self._deny else "allowed"
        self._metrics.limiter_unavailable(outcome)
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY_S:
            self._logged_at = now
            log.warning(
                "rate limits unavailable (%s); requests are %s meanwhile (redis_unavailable)",
                exc,
                outcome,
            )
        if self._deny:
            raise LimiterUnavailable(
                "rate limits cannot be checked right now; retry shortly"
            ) from None

    def _refuse(
        self, ctx: RequestContext, rules: Sequence[Rule], decision: Decision, tokens: int
    ) -> None:
        rule = rules[decision.refused_rule]
        kind = decision.refused_kind
        self._metrics.rate_limited(rule.scope, _KINDS[kind])
        whose = "this API key" if rule.scope == "key" else f"model {rule.subject[2:]!r}"
        per = "minute" if self._window_s == 60 else duration(self._window_s)
        if kind == TOO_LARGE:
            raise RateLimited(
                f"this request may use {tokens} tokens, more than the limit of {whose} "
                f"({rule.tpm} tokens per {per}); ask for fewer (max_tokens)",
                code="request_too_large",
                retry_after_s=self._window_s,
            )
        if kind == CONCURRENCY:
            what = f"{rule.concurrency} requests in flight"
        elif kind == TOKENS:
            what = f"{rule.tpm} tokens per {per}"
        else:
            what = f"{rule.rpm} requests per {per}"
        raise RateLimited(
            f"rate limit of {whose} reached ({what}); retry after "
            f"{duration(decision.retry_after_s)}",
            retry_after_s=decision.retry_after_s,
        )

    async def release(self, lease: Lease, actual_tokens: int) -> None:
        """Correct the tokens and give back the slot in flight (once)."""
        if lease.released or self._backend is None:
            return
        lease.released = True
        if not lease.counts_tokens:
            actual_tokens = lease.estimate
        if not lease.holds_slot and actual_tokens == lease.estimate:
            return  # nothing to correct, nothing to give back: no round trip
        try:
            await self._backend.settle(
                lease.rules, lease.id, lease.estimate, actual_tokens, lease.stamp, self._window_s
            )
        except BackendUnavailable as exc:
            # The slot comes back by itself when its lease expires (``lease_s``).
            self._metrics.limiter_unavailable("release_failed")
            log.warning("request %s: releasing its rate-limit lease failed: %s", lease.id, exc)

    def release_soon(self, lease: Lease, actual_tokens: int) -> None:
        """``release`` without awaiting it (from code that may be cancelled)."""
        if lease.released:
            return
        task = asyncio.get_running_loop().create_task(self.release(lease, actual_tokens))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


_REQUESTS = (b"x-ratelimit-limit-requests", b"x-ratelimit-remaining-requests")
_REQUESTS_RESET = b"x-ratelimit-reset-requests"
_TOKENS = (b"x-ratelimit-limit-tokens", b"x-ratelimit-remaining-tokens")
_TOKENS_RESET = b"x-ratelimit-reset-tokens"


def _headers(
    rules: Sequence[Rule], states: Sequence[RuleState], durations: _Durations
) -> list[tuple[bytes, bytes]]:
    """The ``x-ratelimit-*`` headers: for requests and for tokens, the applicable limit
    with the fewest remaining (then the lowest limit)."""
    if len(rules) == 1:  # the common case: one rule, nothing to choose
        return _headers_of(rules[0], states[0], durations)
    requests: tuple[int, int, float] | None = None
    tokens: tuple[int, int, float] | None = None
    for rule, state in zip(rules, states, strict=True):
        if rule.rpm:
            left = max(rule.rpm - state.requests_used, 0)
            if requests is None or (left, rule.rpm) < (requests[1], requests[0]):
                requests = (rule.rpm, left, state.requests_reset_s)
        if rule.tpm:
            left = max(rule.tpm - state.tokens_used, 0)
            if tokens is None or (left, rule.tpm) < (tokens[1], tokens[0]):
                tokens = (rule.tpm, left, state.tokens_reset_s)
    out = []
    if requests is not None:
        out += [
            (_REQUESTS[0], b"%d" % requests[0]),
            (_REQUESTS[1], b"%d" % requests[1]),
            (_REQUESTS_RESET, durations(requests[2])),
        ]
    if tokens is not None:
        out += [
            (_TOKENS[0], b"%d" % tokens[0]),
            (_TOKENS[1], b"%d" % tokens[1]),
            (_TOKENS_RESET, durations(tokens[2])),
        ]
    return out


def _headers_of(rule: Rule, state: RuleState, durations: _Durations) -> list[tuple[bytes, bytes]]:
    """``_headers`` of a single rule."""
    out = []
    if rule.rpm:
        out += [
            (_REQUESTS[0], b"%d" % rule.rpm),
            (_REQUESTS[1], b"%d" % max(rule.rpm - state.requests_used, 0)),
            (_REQUESTS_RESET, durations(state.requests_reset_s)),
        ]
    if rule.tpm:
        out += [
            (_TOKENS[0], b"%d" % rule.tpm),
            (_TOKENS[1], b"%d" % max(rule.tpm - state.tokens_used, 0)),
            (_TOKENS_RESET, durations(state.tokens_reset_s)),
        ]
    return out


def build_limiter(
    settings: Settings, metrics: Metrics, deployment_id: Callable[[], Awaitable[str]]
) -> RateLimiter:
    """Redis when ``redis_url`` is set, else memory (one process: see ``check_shared``).
    Redis keys start with ``redis_prefix``, by default ``gatewayz:<the deployment's id>``
    (read from the database at start-up: the same for every instance on it)."""
    backend: LimitBackend
    if settings.redis_url is not None:
        from gatewayz.services.limits_redis import RedisLimits

        async def prefix() -> str:
            return settings.redis_prefix or f"gatewayz:{await deployment_id()}"

        limits = settings.limits
        backend = RedisLimits(
            settings.redis_url,
            prefix,
            timeout_s=limits.redis_timeout_s,
            lease_s=limits.lease_s,
            cluster=settings.redis_cluster,
        )
    else:
        from gatewayz.services.limits_memory import MemoryLimits

        backend = MemoryLimits()
    return RateLimiter(settings.limits, backend, metrics)


def check_shared(settings: Settings, workers: int, keys_have_limits: bool) -> None:
    """Refuse to start where limits held in memory would multiply: several workers, or a
    PostgreSQL database (which other instances may share), without ``redis_url``."""
    if settings.redis_url is not None:
        return
    if not (settings.limits.configured or keys_have_limits):
        return
    shared = not settings.database_url.startswith("sqlite")
    if workers > 1 or shared:
        where = f"--workers {workers}" if workers > 1 else "a PostgreSQL database"
        raise ConfigError(
            f"rate limits are configured and this gateway runs with {where}, but there is "
            "no redis_url: each process would count alone and the limits would multiply. "
            "Set redis_url (see docs/SCALING.md), or run one process on SQLite."
        )
