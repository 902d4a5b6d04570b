"""The rate-limit backend shared by workers and instances: sliding logs in Redis, each
decision atomic in a Lua script (``limits_script.py``), on Redis's own clock.

Keys are ``{<prefix>}:<subject>:<kind>``: the prefix names the deployment (see
``deployment.py``), so deployments sharing one Redis never share counters, and as a hash
tag it puts every key of a deployment in one hash slot, as Redis Cluster requires of a
script that touches several (the API key's and the model's). Per subject: ``log`` (the
admissions), ``meta`` (their token sum) and ``live`` (the leases in flight); names unlike
those of the layout before 2026-12-07 (``l``, ``s``, ``c``, of other types), so that
instances of both versions on one Redis during a rolling upgrade count apart instead of
failing on each other's keys. Leases of requests still running are renewed every
``lease_s / 3``.

The decisions and releases of one event-loop turn go together, in order, in one script
call (one round trip, one reply): each operation is one short string, each decision's
answer a few integers, so that the client's work per request is small beside the
request's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gatewayz.services.limits import BackendUnavailable, Decision, Rule, RuleState
from gatewayz.services.limits_script import BATCH as BATCH_SCRIPT
from gatewayz.services.limits_script import RENEW
from gatewayz.services.redis_pipe import PipeUnavailable, RedisPipe

log = logging.getLogger("gatewayz.limits")

# Decisions and releases in one script call at most (more go in the next call).
BATCH = 200

_Answer = asyncio.Future[tuple[int, str]]
_Op = tuple[int, str, Sequence[Rule], list[str], _Answer]


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
        # Operations of this loop turn: (window ms, the operation's start, its rules, its
        # part of each rule, its answer).
        self._batch: list[_Op] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._tag = "{" + await self._prefix() + "}"
        scripts = {"batch": BATCH_SCRIPT, "renew": RENEW}
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

    def _keys(self, subject: str) -> tuple[str, str, str]:
        """The Redis keys of a subject (made once per subject)."""
        keys = self._keys_of.get(subject)
        if keys is None:
            if len(self._keys_of) > 100_000:
                self._keys_of.clear()
            base = f"{self._tag}:{subject}"
            keys = self._keys_of[subject] = (f"{base}:log", f"{base}:meta", f"{base}:live")
        return keys

    async def _call(self, script: str, keys: list[str], args: list[Any]) -> Any:
        """One script call: one round trip, given up after the timeout."""
        assert self._pipe is not None, "start() first"
        try:
            return await self._pipe.script(script, keys, args)
        except PipeUnavailable as exc:
            raise BackendUnavailable(f"redis: {exc}") from None

    def _submit(
        self, window_ms: int, head: str, rules: Sequence[Rule], tails: list[str]
    ) -> _Answer:
        """Joins this loop turn's batch: one script call, one round trip for all. The
        answer: Redis's time of the call (ms) and the operation's reply."""
        loop = asyncio.get_running_loop()
        answer: _Answer = loop.create_future()
        if not self._batch:
            loop.call_soon(self._send)
        self._batch.append((window_ms, head, rules, tails, answer))
        return answer

    def _send(self) -> None:
        window = self._batch[0][0]
        size = 0
        while size < len(self._batch) and size < BATCH and self._batch[size][0] == window:
            size += 1
        batch, self._batch = self._batch[:size], self._batch[size:]
        if self._batch:  # the rest go in the next call
            asyncio.get_running_loop().call_soon(self._send)
        keys: list[str] = []
        index: dict[str, int] = {}
        args: list[Any] = [window, self._lease_ms]
        for _, head, rules, tails, _ in batch:
            # Each rule's part starts with its subject's number in this call's keys.
            parts = [head]
            for rule, tail in zip(rules, tails, strict=True):
                i = index.get(rule.subject)
                if i is None:
                    i = index[rule.subject] = len(index) + 1
                    keys += self._keys(rule.subject)
                parts.append(f"{i} {tail}")
            args.append(" ".join(parts))
        task = asyncio.get_running_loop().create_task(self._call("batch", keys, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: _hand_out(t, [op[4] for op in batch]))

    async def acquire(
        self, rules: Sequence[Rule], lease: str, tokens: int, window_s: float
    ) -> Decision:
        tails = [f"{r.rpm} {r.tpm} {r.concurrency}" for r in rules]
        now, reply = await self._submit(int(window_s * 1000), f"d {lease} {tokens}", rules, tails)
        raw = [int(n) for n in reply.split(",")]
        states = [
            RuleState(raw[i], raw[i + 1] / 1000, raw[i + 2], raw[i + 3] / 1000)
            for i in range(4, len(raw), 4)
        ]
        if raw[0] == 1:
            live = [self._keys(r.subject)[2] for r in rules if r.concurrency]
            if live:
                self._live[lease] = live
            return Decision(True, states, stamp=now)
        return Decision(False, states, raw[1] - 1, raw[2], raw[3] / 1000)

    async def settle(
        self,
        rules: Sequence[Rule],
        lease: str,
        estimate: int,
        actual: int,
        stamp: int,
        window_s: float,
    ) -> None:
        """Sent with the other decisions and releases of this event-loop turn; returns once
        Redis has applied it (a slot is never still held when the response that freed it
        goes out). ``stamp``: when the lease was admitted, on Redis's clock."""
        self._live.pop(lease, None)
        head = f"r {lease} {stamp} {estimate} {actual}"
        tails = [str((1 if r.tpm else 0) + (2 if r.concurrency else 0)) for r in rules]
        await self._submit(int(window_s * 1000), head, rules, tails)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            keys: list[str] = []
            leases: list[str] = []
            for lease, live in list(self._live.items()):
                keys += live
                leases += [lease] * len(live)
            for start in range(0, len(keys), 500):
                try:
                    await self._call(
                        "renew",
                        keys[start : start + 500],
                        [self._lease_ms, *leases[start : start + 500]],
                    )
                except BackendUnavailable as exc:
                    log.warning("renewing rate-limit leases failed: %s", exc)
                    break


def _hand_out(task: asyncio.Task[Any], answers: list[_Answer]) -> None:
    """A batch's replies, each to the request waiting for it (unless it left)."""
    error = BackendUnavailable("redis: cancelled") if task.cancelled() else task.exception()
    if error is None:
        now, *replies = task.result().decode().split(";")
        stamp = int(now)
    for i, answer in enumerate(answers):
        if answer.done():
            continue
        if error is None:
            answer.set_result((stamp, replies[i]))
        else:
            answer.set_exception(BackendUnavailable(str(error)))
