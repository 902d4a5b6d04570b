"""Prepaid credits: an optional per-key balance in nano-USD.

A key whose ``balance_nano_usd`` is NULL is unlimited (and ``partner`` keys are never
charged: Hugging Face bills its own users and pays through the billing endpoint). For a
metered key, before the upstream call the gateway *reserves* the most the request can
cost with one conditional ``UPDATE ... WHERE balance >= estimate`` - atomic in SQLite and
in PostgreSQL, so concurrent requests can never overdraw the key - and after it *settles*:
the reservation is returned and the real cost taken. Not enough balance is a 402.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gatewayz.config import ModelConfig
from gatewayz.db.tables import api_keys, credit_holds, usage_records
from gatewayz.errors import InsufficientCredits, InvalidRequest
from gatewayz.money import Usage, cost_nano_usd, nano_to_usd_string, usd_to_nano
from gatewayz.services.keys import Principal
from gatewayz.upstreams.openai_tasks.base import STRUCTURED_MAX_TOKENS

log = logging.getLogger("gatewayz.credits")

# Chat templates wrap the prompt in role markers and sometimes a default system prompt.
TEMPLATE_TOKENS = 64
TOKENS_PER_MESSAGE = 8
SETTLE_ATTEMPTS = 5
# A hold older than this belongs to a request that died with its gateway (requests are
# bounded by the upstream timeouts well below it); the sweep settles it.
HOLD_TTL_S = 3_600.0
SWEEP_EVERY_S = 60.0


@dataclass(slots=True)
class Hold:
    """Credits reserved for one request; settled exactly once."""

    key_id: int
    amount_nano_usd: int
    settled: bool = field(default=False)
    request_id: str = ""


# The task prompt a chat upstream is given around the inputs, in tokens at most.
TASK_PROMPT_TOKENS = 1_024


def parse_usd(text: str) -> int:
    """A USD amount typed by an operator (``"1.50"``) as nano-USD, rounded up."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidRequest(f"{text!r} is not a USD amount such as 1.50") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidRequest("a USD amount must be a finite, non-negative number")
    return usd_to_nano(amount)


def _text_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list):
        return sum(_text_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_text_bytes(v) for k, v in value.items() if k in ("text", "content"))
    return 0


def prompt_token_bound(payload: dict[str, Any]) -> int:
    """An upper bound on the prompt's tokens without a tokenizer: a byte-level token
    covers at least one byte of text, plus the chat template's own tokens."""
    messages = payload.get("messages")
    if isinstance(messages, list):
        return TEMPLATE_TOKENS + sum(
            TOKENS_PER_MESSAGE + _text_bytes(m) for m in messages if isinstance(m, dict)
        )
    return TEMPLATE_TOKENS + _text_bytes(payload.get("prompt") or "")


def max_cost(model: ModelConfig, payload: dict[str, Any]) -> int:
    """The most a request can cost: its prompt bound plus ``max_tokens`` (or the whole
    context) of output, each capped by the context length, and never more than a full
    context window at the dearer of the two token prices."""
    context = model.context_length
    requested = payload.get("max_completion_tokens") or payload.get("max_tokens")
    output = requested if isinstance(requested, int) and requested >= 0 else context
    usage = Usage(
        input_tokens=min(prompt_token_bound(payload), context), output_tokens=min(output, context)
    )
    pricing = model.pricing
    if pricing.input_per_million_usd >= pricing.output_per_million_usd:
        window = Usage(input_tokens=context)
    else:
        window = Usage(output_tokens=context)
    return min(cost_nano_usd(pricing, usage), cost_nano_usd(pricing, window))


def max_task_cost(model: ModelConfig, inputs: Any, task: str) -> int:
    """The most a non-chat task can cost: every text byte as a token (plus the task prompt
    a chat upstream is given), the structured answer's token cap, one image for
    text-to-image, its characters and the request itself."""
    text_bytes = _all_text_bytes(inputs)
    usage = Usage(
        input_tokens=TASK_PROMPT_TOKENS + text_bytes,
        output_tokens=STRUCTURED_MAX_TOKENS,
        images=1 if task == "text-to-image" else 0,
        input_chars=text_bytes,
    )
    return cost_nano_usd(model.pricing, usage)


def _all_text_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, dict):
        return sum(_all_text_bytes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_all_text_bytes(v) for v in value)
    return 0


async def _release(
    conn: AsyncConnection, request_id: str, key_id: int, amount: int, cost: int
) -> int:
    """Delete the hold and, if this call deleted it, return ``amount - cost`` to the key (a
    cost above the reservation takes what is left, never below zero)."""
    gone = await conn.execute(delete(credit_holds).where(credit_holds.c.request_id == request_id))
    if gone.rowcount != 1:
        return 0
    balance = api_keys.c.balance_nano_usd
    refund = amount - cost
    new = case((balance + refund >= 0, balance + refund), else_=0)
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(balance_nano_usd=new))
    return 1


class CreditGuard:
    """Reserves and settles credits for metered keys; a no-op for everyone else."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._settling: set[asyncio.Task[None]] = set()

    async def reserve(
        self, principal: Principal, model: ModelConfig, payload: dict[str, Any], request_id: str
    ) -> Hold:
        """Take the request's maximum cost from the key's balance, or raise 402."""
        if principal.is_partner or not principal.metered:
            return Hold(principal.key_id, 0, settled=True)
        return await self.reserve_amount(principal, max_cost(model, payload), request_id)

    async def reserve_amount(self, principal: Principal, estimate: int, request_id: str) -> Hold:
        """Take ``estimate`` nano-USD from a metered key's balance, or raise 402. The hold
        is recorded in the same transaction, so a crash before settling loses nothing."""
        if principal.is_partner or not principal.metered:
            return Hold(principal.key_id, 0, settled=True)
        balance = api_keys.c.balance_nano_usd
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
                    )
                )
                return Hold(principal.key_id, estimate, request_id=request_id)
            left = await conn.scalar(select(balance).where(api_keys.c.id == principal.key_id))
        if left is None:  # made unlimited since the principal was cached
            return Hold(principal.key_id, 0, settled=True)
        raise InsufficientCredits(
            f"insufficient credits: the key's balance is {left} nano-USD "
            f"(${nano_to_usd_string(left)}) and this request may cost up to {estimate} "
            f"nano-USD (${nano_to_usd_string(estimate)}); lower max_tokens or add credits"
        )

    def settle(self, hold: Hold, cost_nano_usd: int) -> asyncio.Future[None]:
        """Return the reservation and take ``cost_nano_usd`` instead. Never blocks, so it
        is safe in a ``finally`` of a cancelled stream; await the result to wait for it."""
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
        for attempt in range(SETTLE_ATTEMPTS):
            try:
                async with self._engine.begin() as conn:
                    await _release(conn, hold.request_id, hold.key_id, hold.amount_nano_usd, cost)
                return
            except Exception as exc:  # the driver's errors vary; every one is retried
                log.warning("credit settlement failed (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(0.05 * 2**attempt)
        log.error("credit settlement deferred to the sweep: request %s", hold.request_id)

    async def sweep(self, older_than_s: float = HOLD_TTL_S) -> int:
        """Settle holds left by requests that never finished (a killed gateway): each is
        charged what its usage record says (nothing if there is none) and the rest
        returned. Safe to run from every instance: a hold is released exactly once."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        async with self._engine.connect() as conn:
            stale = (
                await conn.execute(
                    select(credit_holds, usage_records.c.cost_nano_usd)
                    .outerjoin(
                        usage_records, usage_records.c.request_id == credit_holds.c.request_id
                    )
                    .where(credit_holds.c.created_at < cutoff)
                )
            ).all()
        released = 0
        for row in stale:
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
        """Sweep at start-up and then every ``SWEEP_EVERY_S`` seconds, until cancelled."""
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # a failed sweep is retried at the next tick
                log.warning("credit sweep failed: %s", exc)
            await asyncio.sleep(SWEEP_EVERY_S)

    async def balance(self, key_id: int) -> int | None:
        """The key's balance now (never cached); None means unlimited."""
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                select(api_keys.c.balance_nano_usd).where(api_keys.c.id == key_id)
            )
        return None if value is None else int(value)

    async def close(self) -> None:
        """Wait for settlements still being written."""
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)
