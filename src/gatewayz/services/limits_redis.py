"""The rate-limit backend shared by workers and instances: sliding logs in Redis, each
decision atomic in a Lua script (one round trip), on Redis's own clock.

Keys are ``{<prefix>}:<subject>:<kind>``: the prefix names the deployment (see
``deployment.py``), so deployments sharing one Redis never share counters, and as a hash
tag it puts every key of a deployment in one hash slot, as Redis Cluster requires of a
script that touches several (the API key's and the model's).
Per subject: ``l``, the log of admissions (``lease:tokens`` by admission time; a rule
without a token limit logs 0 tokens) with ``s``, the sum of its tokens, and ``c``, the
leases in flight by expiry (a killed instance's slots come back by themselves). Leases of
requests still running are renewed every ``lease_s / 3``. The decisions and releases of
one event-loop turn go together, in order, in one script call (one round trip, one reply).
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

# Decisions and releases in one script call at most (more go in the next call).
BATCH = 200

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

# One decision. keys: per rule l, s, c. args: lease, tokens, window ms, lease ms, then per
# rule rpm, tpm, concurrency. Returns "admitted,rule,kind,retry ms" then per rule
# ",requests used,requests reset ms,tokens used,tokens reset ms".
_DECIDE = """
local function decide(keys, args, now)
  local lease, tokens = args[1], tonumber(args[2])
  local window, lease_ms = tonumber(args[3]), tonumber(args[4])
  local n = #keys / 3
  local edge = now - window
  local refused, kind, retry = 0, 0, 0
  local used, sum, first = {}, {}, {}
  for i = 1, n do
    local l, s, c = keys[3*i-2], keys[3*i-1], keys[3*i]
    local rpm, tpm, conc = tonumber(args[3*i+2]), tonumber(args[3*i+3]), tonumber(args[3*i+4])
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
    local l, s, c = keys[3*i-2], keys[3*i-1], keys[3*i]
    local rpm, tpm, conc = tonumber(args[3*i+2]), tonumber(args[3*i+3]), tonumber(args[3*i+4])
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
end
"""

# One release. keys: per rule l, s, c. args: lease, estimated tokens, actual tokens, then
# per rule 1 if it counts tokens, + 2 if it holds a slot in flight.
_RELEASE = """
local function release(keys, args)
  local lease, est, actual = args[1], args[2], tonumber(args[3])
  for i = 1, #keys / 3 do
    local l, s, c = keys[3*i-2], keys[3*i-1], keys[3*i]
    local what = tonumber(args[3+i])
    if what % 2 == 1 and actual ~= tonumber(est) then
      local at = redis.call('ZSCORE', l, lease .. ':' .. est)
      if at then
        redis.call('ZREM', l, lease .. ':' .. est)
        redis.call('ZADD', l, at, lease .. ':' .. actual)
        redis.call('INCRBY', s, actual - tonumber(est))
      end
    end
    if what >= 2 then redis.call('ZREM', c, lease) end
  end
end
"""

# The decisions and releases of one event-loop turn, in the order they came, at one time.
# ARGV: per operation "d" (decide) or "r" (release), its number of keys and of arguments,
# then its arguments; KEYS: each operation's keys in turn. Returns the decisions' replies
# (a release's is empty), joined by ";".
_BATCH = (
    _PRUNE
    + _DECIDE
    + _RELEASE
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local k, a = 0, 1
while a <= #ARGV do
  local nk, na = tonumber(ARGV[a+1]), tonumber(ARGV[a+2])
  local keys, args = {}, {}
  for i = 1, nk do keys[i] = KEYS[k+i] end
  for i = 1, na do args[i] = ARGV[a+2+i] end
  if ARGV[a] == 'd' then
    out[#out+1] = decide(keys, args, now)
  else
    release(keys, args)
    out[#out+1] = ''
  end
  k, a = k + nk, a + 3 + na
end
return table.concat(out, ';')
"""
)

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
        # Decisions and releases of this loop turn: (kind, keys, arguments, their answer).
        self._batch: list[tuple[str, list[str], list[Any], asyncio.Future[str]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._tag = "{" + await self._prefix() + "}"
        scripts = {"batch": _BATCH, "renew": _RENEW}
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
            return await self._pipe.script(script, keys, args, cache=script != "batch")
        except PipeUnavailable as exc:
            raise BackendUnavailable(f"redis: {exc}") from None

    def _submit(self, kind: str, keys: list[str], args: list[Any]) -> asyncio.Future[str]:
        """Joins this loop turn's batch: one script call, one round trip for all."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()
        if not self._batch:
            loop.call_soon(self._send)
        self._batch.append((kind, keys, args, answer))
        return answer

    def _send(self) -> None:
        batch, self._batch = self._batch[:BATCH], self._batch[BATCH:]
        if self._batch:  # the rest go in the next call
            asyncio.get_running_loop().call_soon(self._send)
        keys: list[str] = []
        args: list[Any] = []
        for kind, op_keys, op_args, _ in batch:
            keys += op_keys
            args += [kind, len(op_keys), len(op_args), *op_args]
        task = asyncio.get_running_loop().create_task(self._call("batch", keys, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: _hand_out(t, [op[3] for op in batch]))

    async def acquire(
        self, rules: Sequence[Rule], lease: str, tokens: int, window_s: float
    ) -> Decision:
        args: list[Any] = [lease, tokens, int(window_s * 1000), self._lease_ms]
        for rule in rules:
            args += [rule.rpm, rule.tpm, rule.concurrency]
        keys = self._keys(rules)
        reply = await self._submit("d", keys, args)
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
        """Sent with the other decisions and releases of this event-loop turn; returns once
        Redis has applied it (a slot is never still held when the response that freed it
        goes out)."""
        self._live.pop(lease, None)
        args: list[Any] = [lease, estimate, actual]
        args += [(1 if r.tpm else 0) + (2 if r.concurrency else 0) for r in rules]
        await self._submit("r", self._keys(rules), args)

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


def _hand_out(task: asyncio.Task[Any], answers: list[asyncio.Future[str]]) -> None:
    """A batch's replies, each to the request waiting for it (unless it left)."""
    error = BackendUnavailable("redis: cancelled") if task.cancelled() else task.exception()
    replies = task.result().split(";") if error is None else []
    for i, answer in enumerate(answers):
        if answer.done():
            continue
        if error is None:
            answer.set_result(replies[i])
        else:
            answer.set_exception(BackendUnavailable(str(error)))
