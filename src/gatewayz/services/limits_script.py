"""The Lua scripts of the Redis rate-limit backend (``limits_redis.py``).

Per subject (an API key or a model) three keys (``l``, ``h`` and ``c`` below; named
``...:log``, ``...:meta`` and ``...:live``): ``l``, the sliding log of admissions (a
sorted set of ``lease:tokens`` by admission time, in ms of Redis's clock; a rule without
a token limit logs 0 tokens), ``h``, a hash with ``s``, the sum of the log's tokens, and
``x``, until when the subject's keys are sure to live, and ``c``, a hash of the leases in
flight and when each expires (a killed instance's slots come back by themselves).

``BATCH`` runs the decisions and releases of one event-loop turn, in order, at one time
(one ``TIME``). Each subject's state is read once per call and kept in Lua meanwhile, and
its new log entries and leases are written once, at the end (or before anything reads
them back): many decisions on one subject cost about as much as one. Expiries are set
once per window, not on every decision. Every command counts: each costs the server
about as much again as the work it does.
"""

from __future__ import annotations

BATCH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, lease_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local edge = now - window
local span = math.max(window, lease_ms)
local S = {}

local function tokens_of(member)
  return tonumber(string.match(member, ':(%d+)$'))
end

-- A subject's state: nothing is read until something needs it.
local function subject(i)
  local st = S[i]
  if st == nil then
    st = {l = KEYS[3*i-2], h = KEYS[3*i-1], c = KEYS[3*i], adds = {}, leases = {}, delta = 0}
    S[i] = st
  end
  return st
end

local function meta(st)
  if st.sum == nil then
    local m = redis.call('HMGET', st.h, 's', 'x')
    st.sum = tonumber(m[1] or '0') + st.delta
    st.x = tonumber(m[2] or '0')
    st.delta = 0
  end
end

local function flush_log(st)
  if #st.adds > 0 then
    redis.call('ZADD', st.l, unpack(st.adds))
    st.adds = {}
  end
end

-- Drops the log's entries admitted at or before the window's edge (and their tokens from
-- the sum); counts what is left. The oldest four are read first: at a steady rate at most
-- one or two have left since the last call.
local function prune(st)
  if st.used ~= nil then return end
  meta(st)
  flush_log(st)
  local head = redis.call('ZRANGE', st.l, 0, 3, 'WITHSCORES')
  local gone, j = 0, 1
  while j < #head and tonumber(head[j+1]) <= edge do
    st.sum = st.sum - tokens_of(head[j])
    gone, j = gone + 1, j + 2
  end
  local first = head[j+1]
  if gone == 4 then
    local rest = redis.call('ZRANGEBYSCORE', st.l, '-inf', edge)
    for k = 5, #rest do st.sum = st.sum - tokens_of(rest[k]) end
    gone = #rest
    first = redis.call('ZRANGE', st.l, gone, gone, 'WITHSCORES')[2]
  end
  if gone > 0 then
    redis.call('ZREMRANGEBYRANK', st.l, 0, gone - 1)
    st.dirty = true
  end
  st.used = (#head / 2 < 4) and (#head / 2 - gone) or redis.call('ZCARD', st.l)
  st.first = first and tonumber(first) or nil
  if st.used == 0 then st.fresh = true end  -- the key is made anew: it needs its expiry
end

-- The leases in flight, with the expired ones (of a killed instance) dropped: only read
-- in full when the limit seems reached.
local function live(st, conc)
  if st.live == nil then
    st.live = redis.call('HLEN', st.c)
    if st.live == 0 then st.fresh = true end
  end
  if st.live >= conc then
    if #st.leases > 0 then
      redis.call('HSET', st.c, unpack(st.leases))
      st.leases = {}
    end
    local all = redis.call('HGETALL', st.c)
    local dead = {}
    for j = 1, #all, 2 do
      if tonumber(all[j+1]) <= now then dead[#dead+1] = all[j] end
    end
    if #dead > 0 then redis.call('HDEL', st.c, unpack(dead)) end
    st.live = #all / 2 - #dead
  end
  return st.live
end

-- One decision: "d lease tokens" then per rule "i rpm tpm concurrency" (i: the subject).
-- Returns "admitted,rule,kind,retry ms" then per rule ",requests used,requests reset
-- ms,tokens used,tokens reset ms".
local function decide(op)
  local lease, tokens = op[2], tonumber(op[3])
  local rules = {}
  local refused, kind, retry = 0, 0, 0
  for n = 1, (#op - 3) / 4 do
    local st = subject(tonumber(op[4*n]))
    local rpm, tpm, conc = tonumber(op[4*n+1]), tonumber(op[4*n+2]), tonumber(op[4*n+3])
    rules[n] = {st, rpm, tpm, conc}
    if rpm > 0 or tpm > 0 then prune(st) end
    if refused == 0 then
      if rpm > 0 and st.used >= rpm then
        flush_log(st)
        local at = redis.call('ZRANGE', st.l, st.used - rpm, st.used - rpm, 'WITHSCORES')
        refused, kind, retry = n, 1, tonumber(at[2]) + window - now
      elseif tpm > 0 and tokens > tpm then
        refused, kind, retry = n, 4, window
      elseif tpm > 0 and st.sum + tokens > tpm then
        flush_log(st)
        local excess = st.sum + tokens - tpm
        refused, kind, retry = n, 2, window
        local start = 0
        while excess > 0 do
          local page = redis.call('ZRANGE', st.l, start, start + 99, 'WITHSCORES')
          if #page == 0 then break end
          for j = 1, #page, 2 do
            excess = excess - tokens_of(page[j])
            if excess <= 0 then retry = tonumber(page[j+1]) + window - now break end
          end
          start = start + 100
        end
      elseif conc > 0 and live(st, conc) >= conc then
        refused, kind, retry = n, 3, 1000
      end
    end
  end
  local out = {refused == 0 and 1 or 0, refused, kind, retry}
  for n = 1, #rules do
    local st, rpm, tpm, conc = rules[n][1], rules[n][2], rules[n][3], rules[n][4]
    local logged = rpm > 0 or tpm > 0
    if refused == 0 then
      if logged then
        local counted = tpm > 0 and tokens or 0
        st.adds[#st.adds+1] = now
        st.adds[#st.adds+1] = lease .. ':' .. counted
        st.used, st.sum, st.first = st.used + 1, st.sum + counted, st.first or now
        st.dirty = true
      end
      if conc > 0 then
        if st.live == nil then live(st, conc) end
        meta(st)
        st.leases[#st.leases+1] = lease
        st.leases[#st.leases+1] = now + lease_ms
        st.live = st.live + 1
        st.dirty = true
      end
    end
    local reset = (logged and st.first) and (st.first + window - now) or 0
    out[#out+1] = logged and st.used or 0
    out[#out+1] = rpm > 0 and reset or 0
    out[#out+1] = logged and st.sum or 0
    out[#out+1] = tpm > 0 and reset or 0
  end
  for j = 1, #out do out[j] = string.format('%d', out[j]) end
  return table.concat(out, ',')
end

-- One release: "r lease admitted-at estimate actual" then per rule "i what" (what: 1 if it
-- counts tokens, + 2 if it holds a slot in flight). A log entry still in the window is
-- rewritten with the tokens really used (unless it is gone: Redis restarted meanwhile).
local function release(op)
  local lease, at, est, actual = op[2], tonumber(op[3]), op[4], tonumber(op[5])
  for n = 1, (#op - 5) / 2 do
    local st = subject(tonumber(op[4 + 2*n]))
    local what = tonumber(op[5 + 2*n])
    if what % 2 == 1 and actual ~= tonumber(est) and at > edge then
      redis.call('ZADD', st.l, at, lease .. ':' .. actual)
      if redis.call('ZREM', st.l, lease .. ':' .. est) == 1 then
        if st.sum == nil then
          st.delta = st.delta + actual - tonumber(est)
        else
          st.sum = st.sum + actual - tonumber(est)
          st.dirty = true
        end
      else
        redis.call('ZREM', st.l, lease .. ':' .. actual)
      end
    end
    if what >= 2 then
      local gone = redis.call('HDEL', st.c, lease)
      if st.live ~= nil then st.live = st.live - gone end
    end
  end
  return ''
end

local out = {now}
for a = 3, #ARGV do
  local op = {}
  for word in string.gmatch(ARGV[a], '%S+') do op[#op+1] = word end
  if op[1] == 'd' then out[#out+1] = decide(op) else out[#out+1] = release(op) end
end

-- Everything held back, written once; the keys' expiries set once per window (and on
-- keys made anew), long enough for the newest entry and lease.
for _, st in pairs(S) do
  flush_log(st)
  if #st.leases > 0 then redis.call('HSET', st.c, unpack(st.leases)) end
  if st.sum == nil then
    if st.delta ~= 0 then redis.call('HINCRBY', st.h, 's', st.delta) end
  elseif st.dirty then
    if st.fresh or st.x < now + span then
      local ttl = 2 * span
      redis.call('HSET', st.h, 's', st.sum, 'x', now + ttl)
      redis.call('PEXPIRE', st.h, ttl)
      redis.call('PEXPIRE', st.l, ttl)
      redis.call('PEXPIRE', st.c, ttl)
    else
      redis.call('HSET', st.h, 's', st.sum)
    end
  end
end
return table.concat(out, ';')
"""

# KEYS: ``c`` keys; ARGV: lease ms, then the lease for each key. Renews the leases still
# held (a released or expired one is not brought back); a key's expiry is only ever made
# longer here.
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease_ms = tonumber(ARGV[1])
for i = 1, #KEYS do
  if redis.call('HEXISTS', KEYS[i], ARGV[i + 1]) == 1 then
    redis.call('HSET', KEYS[i], ARGV[i + 1], now + lease_ms)
    if redis.call('PTTL', KEYS[i]) < 2 * lease_ms then
      redis.call('PEXPIRE', KEYS[i], 2 * lease_ms)
    end
  end
end
return 1
"""
