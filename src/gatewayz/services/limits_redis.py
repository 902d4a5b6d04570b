"""The rate-limit backend shared by workers and instances: sliding logs in Redis, each
decision one Lua script (one round trip, atomic), on Redis's own clock.

Every key carries the hash tag ``{rl}`` (``gatewayz:rl:{rl}:<subject>:<kind>``): all the
keys of one decision (the API key's and the model's logs) are in one hash slot, as Redis
Cluster requires of a script.
Per subject: ``r`` (admission times), ``t`` (``lease:tokens`` by time) with ``s`` (their
sum), ``c`` (leases in flight by expiry: a killed instance's slots come back by
themselves). Leases of requests still running are renewed every ``lease_s / 3``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from gatewayz.services.limits import BackendUnavailable, Decision, Rule, RuleState
from gatewayz.services.redis_pipe import PipeUnavailable, RedisPipe

log = logging.getLogger("gatewayz.limits")
KEY_PREFIX = "gatewayz:rl"

# KEYS: per rule r, t, s, c. ARGV: lease, tokens, window ms, lease ms, then per rule rpm,
# tpm, concurrency. Returns "admitted,rule,kind,retry ms" then per rule ",requests used,
# requests reset ms,tokens used,tokens reset ms" (one string: one cheap reply to parse).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, tokens = ARGV[1], tonumber(ARGV[2])
local window, lease_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local n = #KEYS / 4
local edge = now - window
local refused, kind, retry = 0, 0, 0
for i = 1, n do
  local r, tk, s, c = KEYS[4*i-3], KEYS[4*i-2], KEYS[4*i-1], KEYS[4*i]
  local rpm, tpm, conc = tonumber(ARGV[3*i+2]), tonumber(ARGV[3*i+3]), tonumber(ARGV[3*i+4])
  redis.call('ZREMRANGEBYSCORE', r, '-inf', edge)
  local gone = redis.call('ZRANGEBYSCORE', tk, '-inf', edge)
  if #gone > 0 then
    local freed = 0
    for j = 1, #gone do freed = freed + tonumber(string.match(gone[j], ':(%d+)$')) end
    redis.call('DECRBY', s, freed)
    redis.call('ZREMRANGEBYSCORE', tk, '-inf', edge)
  end
  redis.call('ZREMRANGEBYSCORE', c, '-inf', now)
  if refused == 0 then
    local used = redis.call('ZCARD', r)
    if rpm > 0 and used >= rpm then
      local at = redis.call('ZRANGE', r, used - rpm, used - rpm, 'WITHSCORES')
      refused, kind, retry = i, 1, tonumber(at[2]) + window - now
    elseif tpm > 0 and tokens > tpm then
      refused, kind, retry = i, 4, window
    elseif tpm > 0 then
      local excess = tonumber(redis.call('GET', s) or '0') + tokens - tpm
      if excess > 0 then
        refused, kind, retry = i, 2, window
        local start = 0
        while excess > 0 do
          local page = redis.call('ZRANGE', tk, start, start + 99, 'WITHSCORES')
          if #page == 0 then break end
          for j = 1, #page, 2 do
            excess = excess - tonumber(string.match(page[j], ':(%d+)$'))
            if excess <= 0 then retry = tonumber(page[j+1]) + window - now break end
          end
          start = start + 100
        end
      end
    end
    if refused == 0 and conc > 0 and redis.call('ZCARD', c) >= conc then
      refused, kind, retry = i, 3, 1000
    end
  end
end
local out = {refused == 0 and 1 or 0, refused, kind, retry}
for i = 1, n do
  local r, tk, s, c = KEYS[4*i-3], KEYS[4*i-2], KEYS[4*i-1], KEYS[4*i]
  local rpm, tpm, conc = tonumber(ARGV[3*i+2]), tonumber(ARGV[3*i+3]), tonumber(ARGV[3*i+4])
  if refused == 0 then
    if rpm > 0 then
      redis.call('ZADD', r, now, lease)
      redis.call('PEXPIRE', r, window + 1000)
    end
    if tpm > 0 then
      redis.call('ZADD', tk, now, lease .. ':' .. tokens)
      redis.call('INCRBY', s, tokens)
      redis.call('PEXPIRE', tk, window + 1000)
      redis.call('PEXPIRE', s, window + 1000)
    end
    if conc > 0 then
      redis.call('ZADD', c, now + lease_ms, lease)
      redis.call('PEXPIRE', c, lease_ms * 2)
    end
  end
  local first = redis.call('ZRANGE', r, 0, 0, 'WITHSCORES')
  local firsttk = redis.call('ZRANGE', tk, 0, 0, 'WITHSCORES')
  out[#out+1] = redis.call('ZCARD', r)
  out[#out+1] = #first > 0 and (tonumber(first[2]) + window - now) or 0
  out[#out+1] = tonumber(redis.call('GET', s) or '0')
  out[#out+1] = #firsttk > 0 and (tonumber(firsttk[2]) + window - now) or 0
end
for i = 1, #out do out[i] = string.format('%d', out[i]) end
return table.concat(out, ',')
"""

# KEYS: per rule r, t, s, c. ARGV: lease, estimated tokens, actual tokens.
_SETTLE = """
local lease, est, actual = ARGV[1], ARGV[2], tonumber(ARGV[3])
for i = 1, #KEYS / 4 do
  local tk, s, c = KEYS[4*i-2], KEYS[4*i-1], KEYS[4*i]
  local at = redis.call('ZSCORE', tk, lease .. ':' .. est)
  if at then
    redis.call('ZREM', tk, lease .. ':' .. est)
    redis.call('ZADD', tk, at, lease .. ':' .. actual)
    redis.call('INCRBY', s, actual - tonumber(est))
  end
  redis.call('ZREM', c, lease)
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
    def __init__(self, url: str, *, timeout_s: float, lease_s: float) -> None:
        scripts = {"acquire": _ACQUIRE, "settle": _SETTLE, "renew": _RENEW}
        self._pipe = RedisPipe(url, timeout_s, scripts)
        self._lease_ms = int(lease_s * 1000)
        self._keys_of: dict[str, tuple[str, str, str, str]] = {}
        # Leases of this process's requests in flight, with their ``c`` keys.
        self._live: dict[str, list[str]] = {}
        self._renewer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._renewer = asyncio.create_task(self._renew_forever(), name="rate-limit-leases")

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        await self._pipe.close()

    def _keys(self, rules: Sequence[Rule]) -> list[str]:
        """The Redis keys of ``rules``, four per rule (made once per subject)."""
        out: list[str] = []
        for rule in rules:
            keys = self._keys_of.get(rule.subject)
            if keys is None:
                if len(self._keys_of) > 100_000:
                    self._keys_of.clear()
                base = f"{KEY_PREFIX}:{{rl}}:{rule.subject}"
                keys = (f"{base}:r", f"{base}:t", f"{base}:s", f"{base}:c")
                self._keys_of[rule.subject] = keys
            out += keys
        return out

    async def _call(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """One script call: one round trip, given up after the timeout."""
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
            RuleState(int(raw[i]), raw[i + 1] / 1000, int(raw[i + 2]), raw[i + 3] / 1000)
            for i in range(4, len(raw), 4)
        ]
        if raw[0] == 1:
            live = [keys[4 * i + 3] for i, rule in enumerate(rules) if rule.concurrency]
            if live:
                self._live[lease] = live
            return Decision(True, states)
        return Decision(False, states, int(raw[1]) - 1, int(raw[2]), raw[3] / 1000)

    async def settle(self, rules: Sequence[Rule], lease: str, estimate: int, actual: int) -> None:
        self._live.pop(lease, None)
        await self._call("settle", self._keys(rules), [lease, estimate, actual])

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
