"""The rate-limit backend shared by workers and instances: sliding logs in Redis, each
decision one Lua script (one round trip, atomic), on Redis's own clock.

Keys are ``{<prefix>}:<subject>:<kind>``: the prefix names the deployment (see
``deployment.py``), so deployments sharing one Redis never share counters, and as a hash
tag it puts every key of a deployment in one hash slot, as Redis Cluster requires of a
script that touches several (the API key's and the model's).
Per subject: ``l``, the log of admissions (``lease:tokens`` by admission time; a rule
without a token limit logs 0 tokens) with ``s``, the sum of its tokens, and ``c``, the
leases in flight by expiry (a killed instance's slots come back by themselves). Leases of
requests still running are renewed every ``lease_s / 3``. The releases of one event-loop
turn are settled together, in one script call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gatewayz.services.limits import BackendUnavailable, Decision, Rule, RuleState
from gatewayz.services.redis_pipe import PipeUnavailable, RedisPipe

log = logging.getLogger("gatewayz.limits")

# Releases settled in one script call at most (more wait for the next call).
SETTLE_BATCH = 200

# Drops the entries of log ``l`` admitted at or before ``edge`` (and their tokens from
# ``s``); returns the admission time of the oldest entry left, or nil. The oldest four are
# read first: at a steady rate at most one or two have left since the last decision (each
# entry read costs the server about as much as a command).
_PRUNE = """
local function prune(l, s, edge)
  local head = redis.call('ZRANGE', l, 0, 3, 'WITHSCORES')
  local freed, gone, j = 0, 0, 1
  while j < #head and tonumber(head[j+1]) <= edge do
    freed = freed + tonumber(string.match(head[j], ':(%d+)$'))
    gone, j = gone + 1, j + 2
  end
  local first = head[j+1]
  if gone == 4 then
    local rest = redis.call('ZRANGEBYSCORE', l, '-inf', edge)
    for k = 5, #rest do freed = freed + tonumber(string.match(rest[k], ':(%d+)$')) end
    gone = #rest
    first = redis.call('ZRANGE', l, gone, gone, 'WITHSCORES')[2]
  end
  if gone > 0 then redis.call('ZREMRANGEBYRANK', l, 0, gone - 1) end
  if freed > 0 then redis.call('DECRBY', s, freed) end
  return first and tonumber(first) or nil
end
"""

# KEYS: per rule l, s, c. ARGV: lease, tokens, window ms, lease ms, then per rule rpm,
# tpm, concurrency. Returns "admitted,rule,kind,retry ms" then per rule ",requests used,
# requests reset ms,tokens used,tokens reset ms" (one string: one cheap reply to parse).
_ACQUIRE = (
    _PRUNE
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, tokens = ARGV[1], tonumber(ARGV[2])
local window, lease_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local n = #KEYS / 3
local edge = now - window
local refused, kind, retry = 0, 0, 0
local used, sum, first = {}, {}, {}
for i = 1, n do
  local l, s, c = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local rpm, tpm, conc = tonumber(ARGV[3*i+2]), tonumber(ARGV[3*i+3]), tonumber(ARGV[3*i+4])
  used[i], sum[i] = 0, 0
  if rpm > 0 or tpm > 0 then
    first[i] = prune(l, s, edge)
    used[i] = redis.call('ZCARD', l)
    if tpm > 0 then sum[i] = tonumber(redis.call('GET', s) or '0') end
  end
  if conc > 0 then redis.call('ZREMRANGEBYSCORE', c, '-inf', now) end
  if refused == 0 then
    if rpm > 0 and used[i] >= rpm then
      local at = redis.call('ZRANGE', l, used[i] - rpm, used[i] - rpm, 'WITHSCORES')
      refused, kind, retry = i, 1, tonumber(at[2]) + window - now
    elseif tpm > 0 and tokens > tpm then
      refused, kind, retry = i, 4, window
    elseif tpm > 0 and sum[i] + tokens > tpm then
      local excess = sum[i] + tokens - tpm
      refused, kind, retry = i, 2, window
      local start = 0
      while excess > 0 do
        local page = redis.call('ZRANGE', l, start, start + 99, 'WITHSCORES')
        if #page == 0 then break end
        for j = 1, #page, 2 do
          excess = excess - tonumber(string.match(page[j], ':(%d+)$'))
          if excess <= 0 then retry = tonumber(page[j+1]) + window - now break end
        end
        start = start + 100
      end
    elseif conc > 0 and redis.call('ZCARD', c) >= conc then
      refused, kind, retry = i, 3, 1000
    end
  end
end
local out = {refused == 0 and 1 or 0, refused, kind, retry}
for i = 1, n do
  local l, s, c = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local rpm, tpm, conc = tonumber(ARGV[3*i+2]), tonumber(ARGV[3*i+3]), tonumber(ARGV[3*i+4])
  if refused == 0 then
    if rpm > 0 or tpm > 0 then
      local counted = tpm > 0 and tokens or 0
      redis.call('ZADD', l, now, lease .. ':' .. counted)
      redis.call('PEXPIRE', l, window + 1000)
      if counted > 0 then
        redis.call('INCRBY', s, counted)
        redis.call('PEXPIRE', s, window + 1000)
      end
      used[i], sum[i], first[i] = used[i] + 1, sum[i] + counted, first[i] or now
    end
    if conc > 0 then
      redis.call('ZADD', c, now + lease_ms, lease)
      redis.call('PEXPIRE', c, lease_ms * 2)
    end
  end
  local reset = first[i] and (first[i] + window - now) or 0
  out[#out+1] = used[i]
  out[#out+1] = rpm > 0 and reset or 0
  out[#out+1] = sum[i]
  out[#out+1] = tpm > 0 and reset or 0
end
for i = 1, #out do out[i] = string.format('%d', out[i]) end
return table.concat(out, ',')
"""
)

# KEYS: per rule of each lease l, s, c. ARGV: per lease its lease, estimated tokens,
# actual tokens and number of rules, then per rule 1 if it counts tokens, + 2 if it holds
# a slot in flight.
_SETTLE = """
local k, a = 1, 1
while a <= #ARGV do
  local lease, est, actual, rules = ARGV[a], ARGV[a+1], tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  for i = 1, rules do
    local l, s, c = KEYS[k], KEYS[k+1], KEYS[k+2]
    local what = tonumber(ARGV[a+3+i])
    if what % 2 == 1 and actual ~= tonumber(est) then
      local at = redis.call('ZSCORE', l, lease .. ':' .. est)
      if at then
        redis.call('ZREM', l, lease .. ':' .. est)
        redis.call('ZADD', l, at, lease .. ':' .. actual)
        redis.call('INCRBY', s, actual - tonumber(est))
      end
    end
    if what >= 2 then redis.call('ZREM', c, lease) end
    k = k + 3
  end
  a = a + 4 + rules
end
return 1
"""

# KEYS: ``c`` keys; ARGV: lease ms, then the lease for each key.
_RENEW = """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', until_ms, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[1]) * 2)
end
return 1
"""


class RedisLimits:
    def __init__(
        self,
        url: str,
        prefix: Callable[[], Awaitable[str]],
        *,
        timeout_s: float,
        lease_s: float,
        cluster: bool = False,
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._cluster = cluster
        self._tag = ""  # "{prefix}", known once started
        self._pipe: RedisPipe | None = None
        self._lease_ms = int(lease_s * 1000)
        self._keys_of: dict[str, tuple[str, str, str]] = {}
        # Leases of this process's requests in flight, with their ``c`` keys.
        self._live: dict[str, list[str]] = {}
        self._renewer: asyncio.Task[None] | None = None
        # Releases waiting for this loop turn's settle call, and that call's outcome.
        self._settling: list[tuple[Sequence[Rule], str, int, int]] = []
        self._settled: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._tag = "{" + await self._prefix() + "}"
        scripts = {"acquire": _ACQUIRE, "settle": _SETTLE, "renew": _RENEW}
        cluster_key = self._tag if self._cluster else None
        self._pipe = RedisPipe(self._url, self._timeout_s, scripts, cluster_key)
        self._renewer = asyncio.create_task(self._renew_forever(), name="rate-limit-leases")

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        if self._tasks:  # the last releases
            await asyncio.wait(self._tasks, timeout=2)
        if self._pipe is not None:
            await self._pipe.close()

    def _keys(self, rules: Sequence[Rule]) -> list[str]:
        """The Redis keys of ``rules``, three per rule (made once per subject)."""
        out: list[str] = []
        for rule in rules:
            keys = self._keys_of.get(rule.subject)
            if keys is None:
                if len(self._keys_of) > 100_000:
                    self._keys_of.clear()
                base = f"{self._tag}:{rule.subject}"
                keys = (f"{base}:l", f"{base}:s", f"{base}:c")
                self._keys_of[rule.subject] = keys
            out += keys
        return out

    async def _call(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """One script call: one round trip, given up after the timeout."""
        assert self._pipe is not None, "start() first"
        try:
            return await self._pipe.script(script, keys, args)
        except PipeUnavailable as exc:
            raise BackendUnavailable(f"redis: {exc}") from None

    async def acquire(
        self, rules: Sequence[Rule], lease: str, tokens: int, window_s: float
    ) -> Decision:
        args: list[Any] = [lease, tokens, int(window_s * 1000), self._lease_ms]
        for rule in rules:
            args += [rule.rpm, rule.tpm, rule.concurrency]
        keys = self._keys(rules)
        reply = await self._call("acquire", keys, args)
        raw = [int(n) for n in reply.split(",")]
        states = [
            RuleState(raw[i], raw[i + 1] / 1000, raw[i + 2], raw[i + 3] / 1000)
            for i in range(4, len(raw), 4)
        ]
        if raw[0] == 1:
            live = [keys[3 * i + 2] for i, rule in enumerate(rules) if rule.concurrency]
            if live:
                self._live[lease] = live
            return Decision(True, states)
        return Decision(False, states, raw[1] - 1, raw[2], raw[3] / 1000)

    async def settle(self, rules: Sequence[Rule], lease: str, estimate: int, actual: int) -> None:
        """Settled with the other releases of this event-loop turn, in one script call;
        returns once Redis has applied it (a slot is never still held when the response
        that freed it goes out)."""
        self._live.pop(lease, None)
        self._settling.append((rules, lease, estimate, actual))
        if self._settled is None:
            loop = asyncio.get_running_loop()
            self._settled = loop.create_future()
            loop.call_soon(self._settle_batch)
        await asyncio.shield(self._settled)

    def _settle_batch(self) -> None:
        batch, self._settling = self._settling[:SETTLE_BATCH], self._settling[SETTLE_BATCH:]
        done, self._settled = self._settled, None
        assert done is not None
        if self._settling:  # the rest go in the next call
            loop = asyncio.get_running_loop()
            self._settled = loop.create_future()
            loop.call_soon(self._settle_batch)
        keys: list[str] = []
        args: list[Any] = []
        for rules, lease, estimate, actual in batch:
            keys += self._keys(rules)
            args += [lease, estimate, actual, len(rules)]
            args += [(1 if r.tpm else 0) + (2 if r.concurrency else 0) for r in rules]
        task = asyncio.get_running_loop().create_task(self._call("settle", keys, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: _pass_on(t, done))

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            keys: list[str] = []
            args: list[Any] = [self._lease_ms]
            for lease, live in list(self._live.items()):
                keys += live
                args += [lease] * len(live)
            for start in range(0, len(keys), 500):
                try:
                    await self._call(
                        "renew",
                        keys[start : start + 500],
                        [args[0], *args[start + 1 : start + 501]],
                    )
                except BackendUnavailable as exc:
                    log.warning("renewing rate-limit leases failed: %s", exc)
                    break


def _pass_on(task: asyncio.Task[Any], done: asyncio.Future[None]) -> None:
    """The outcome of a settle call, to every release waiting on it."""
    error = BackendUnavailable("redis: cancelled") if task.cancelled() else task.exception()
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
        done.exception()  # retrieved here: each waiter gets its own copy through shield()
