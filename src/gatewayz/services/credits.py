"""Prepaid credits: an optional per-key balance in nano-USD.

A key whose ``balance_nano_usd`` is NULL is unlimited (and ``partner`` keys are never
charged: Hugging Face bills its own users and pays through the billing endpoint). For a
metered key, before the upstream call the gateway *reserves* the most the request can
cost with one conditional ``UPDATE ... WHERE balance >= estimate`` - atomic in SQLite and
in PostgreSQL, so concurrent requests can never overdraw the key - and after it *settles*:
the reservation is returned and the real cost taken. Not enough balance is a 402.

The reservation is the request's bound (``services/bounds.py``): the most it can cost.
A request is never charged more than its hold, so a key never goes below zero; what an
upstream reports beyond the hold is recorded on the usage row as ``uncharged_nano_usd``
and flagged, and every nano-USD taken from a balance is a usage record's ``cost_nano_usd``.

Each hold names the process (instance) serving its request. Every instance records a
heartbeat; a hold whose instance has stopped beating (killed, or stopped) is settled by
the next sweep of any instance - charged what the request's usage record says, nothing
if there is none - and a hold is released exactly once, however many sweep it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gatewayz.db.tables import api_keys, credit_holds, gateway_instances, usage_records
from gatewayz.errors import InsufficientCredits, InvalidRequest
from gatewayz.money import MAX_BALANCE_NANO_USD, NANO_PER_USD, nano_to_usd_string, usd_to_nano
from gatewayz.services.keys import Principal

log = logging.getLogger("gatewayz.credits")

SETTLE_ATTEMPTS = 5
# Each process says it is alive this often; a process silent for INSTANCE_DEAD_S has died
# (or hangs), and the holds of its requests are settled by the next sweep of any instance.
HEARTBEAT_S = 5.0
INSTANCE_DEAD_S = 20.0
# Holds written before instances were recorded (migration 0006) are settled at this age.
LEGACY_HOLD_TTL_S = 3_600.0


@dataclass(slots=True)
class Hold:
    """Credits reserved for one request; settled exactly once."""

    key_id: int
    amount_nano_usd: int
    settled: bool = field(default=False)
    request_id: str = ""


def parse_usd(text: str) -> int:
    """A USD amount typed by an operator (``"1.50"``) as nano-USD, rounded up."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidRequest(f"{text!r} is not a USD amount such as 1.50") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidRequest("a USD amount must be a finite, non-negative number")
    if amount > MAX_BALANCE_NANO_USD // NANO_PER_USD:
        raise InvalidRequest("a USD amount must be at most 1000000000 (USD 1 billion)")
    return usd_to_nano(amount)


async def _release(
    conn: AsyncConnection, request_id: str, key_id: int, amount: int, cost: int
) -> int:
    """Delete the hold and, if this call deleted it, return ``amount - cost`` to the key.
    ``cost`` never exceeds ``amount`` (a request is charged at most its hold)."""
    gone = await conn.execute(delete(credit_holds).where(credit_holds.c.request_id == request_id))
    if gone.rowcount != 1:
        return 0
    refund = amount - min(cost, amount)
    if refund:
        balance = api_keys.c.balance_nano_usd
        await conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id)
            .values(balance_nano_usd=balance + refund)
        )
    return 1


class CreditGuard:
    """Reserves and settles credits for metered keys; a no-op for everyone else."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._settling: set[asyncio.Task[None]] = set()
        self.instance_id = str(uuid.uuid4())
        # Request ids of this instance's holds not yet settled (or being settled).
        self._open: set[str] = set()

    async def reserve(self, principal: Principal, estimate: int, request_id: str) -> Hold:
        """Take ``estimate`` nano-USD from a metered key's balance, or raise 402. The hold
        is recorded in the same transaction, so a crash before settling loses nothing."""
        if principal.is_partner or not principal.metered:
            return Hold(principal.key_id, 0, settled=True)
        balance = api_keys.c.balance_nano_usd
        self._open.add(request_id)
        try:
            async with self._engine.begin() as conn:
                taken = await conn.execute(
                    update(api_keys)
                    .where(api_keys.c.id == principal.key_id, balance >= estimate)
                    .values(balance_nano_usd=balance - estimate)
                )
                if taken.rowcount == 1:
                    await conn.execute(
                        insert(credit_holds).values(
                            request_id=request_id,
                            api_key_id=principal.key_id,
                            amount_nano_usd=estimate,
                            created_at=datetime.now(UTC),
                            instance_id=self.instance_id,
                        )
                    )
                    return Hold(principal.key_id, estimate, request_id=request_id)
                left = await conn.scalar(select(balance).where(api_keys.c.id == principal.key_id))
        except BaseException:
            self._open.discard(request_id)
            raise
        self._open.discard(request_id)
        if left is None:  # made unlimited since the principal was cached
            return Hold(principal.key_id, 0, settled=True)
        raise InsufficientCredits(
            f"insufficient credits: the key's balance is {left} nano-USD "
            f"(${nano_to_usd_string(left)}) and this request may cost up to {estimate} "
            f"nano-USD (${nano_to_usd_string(estimate)}); lower max_tokens or n, or add credits"
        )

    def settle(self, hold: Hold, cost_nano_usd: int) -> asyncio.Future[None]:
        """Return the reservation and take ``cost_nano_usd`` (at most the reservation)
        instead. Never blocks, so it is safe in a ``finally`` of a cancelled stream; await
        the result to wait for it."""
        if hold.settled:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        hold.settled = True
        task = asyncio.create_task(self._settle(hold, cost_nano_usd), name="credit-settle")
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        return asyncio.shield(task)

    async def _settle(self, hold: Hold, cost: int) -> None:
        try:
            for attempt in range(SETTLE_ATTEMPTS):
                try:
                    async with self._engine.begin() as conn:
                        await _release(
                            conn, hold.request_id, hold.key_id, hold.amount_nano_usd, cost
                        )
                    return
                except Exception as exc:  # the driver's errors vary; every one is retried
                    log.warning("credit settlement failed (attempt %d): %s", attempt + 1, exc)
                    await asyncio.sleep(0.05 * 2**attempt)
            log.error("credit settlement deferred to the sweep: request %s", hold.request_id)
        finally:
            # From now on the sweep may settle it (from the usage record), once.
            self._open.discard(hold.request_id)

    async def heartbeat(self) -> None:
        """Record that this instance is alive."""
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            beat = await conn.execute(
                update(gateway_instances)
                .where(gateway_instances.c.id == self.instance_id)
                .values(heartbeat_at=now)
            )
            if beat.rowcount != 1:
                await conn.execute(
                    insert(gateway_instances).values(id=self.instance_id, heartbeat_at=now)
                )

    async def sweep(self) -> int:
        """Settle holds of requests that can no longer finish: those of instances that
        stopped beating (or are gone), this instance's own holds that no request of it
        still owns (a settlement that failed), and holds from before instances were
        recorded once they are an hour old. Each is charged what its usage record says
        (nothing if there is none; never more than the hold) and the rest returned. Safe
        to run from every instance at once: a hold is released exactly once."""
        now = datetime.now(UTC)
        h, i = credit_holds.c, gateway_instances.c
        alive = select(i.id).where(i.heartbeat_at >= now - timedelta(seconds=INSTANCE_DEAD_S))
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        h.request_id,
                        h.api_key_id,
                        h.amount_nano_usd,
                        h.instance_id,
                        usage_records.c.cost_nano_usd,
                    )
                    .outerjoin(usage_records, usage_records.c.request_id == h.request_id)
                    .where(
                        or_(
                            h.instance_id == self.instance_id,
                            h.instance_id.not_in(alive),
                            and_(
                                h.instance_id.is_(None),
                                h.created_at < now - timedelta(seconds=LEGACY_HOLD_TTL_S),
                            ),
                        )
                    )
                )
            ).all()
            await conn.execute(delete(gateway_instances).where(i.id.not_in(alive)))
            await conn.commit()
        released = 0
        for row in rows:
            if row.instance_id == self.instance_id and row.request_id in self._open:
                continue  # still being served (or settled) here
            async with self._engine.begin() as conn:
                released += await _release(
                    conn,
                    row.request_id,
                    row.api_key_id,
                    row.amount_nano_usd,
                    row.cost_nano_usd or 0,
                )
        if released:
            log.warning("settled %d credit holds left by unfinished requests", released)
        return released

    async def run_sweeper(self) -> None:
        """Beat and sweep at start-up and then every ``HEARTBEAT_S`` seconds, until
        cancelled."""
        while True:
            try:
                await self.heartbeat()
                await self.sweep()
            except Exception as exc:  # a failed beat or sweep is retried at the next tick
                log.warning("credit sweep failed: %s", exc)
            await asyncio.sleep(HEARTBEAT_S)

    async def balance(self, key_id: int) -> int | None:
        """The key's balance now (never cached); None means unlimited."""
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                select(api_keys.c.balance_nano_usd).where(api_keys.c.id == key_id)
            )
        return None if value is None else int(value)

    async def close(self) -> None:
        """Wait for settlements still being written, then say this instance has stopped
        (its holds, if any remain, are settled by the next sweep anywhere)."""
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    delete(gateway_instances).where(gateway_instances.c.id == self.instance_id)
                )
        except Exception as exc:  # the database may be gone at shutdown
            log.warning("could not unregister instance %s: %s", self.instance_id, exc)
