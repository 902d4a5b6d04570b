"""Money: integer nano-USD, priced with exact decimals and rounded up in one place.

1 USD = 1,000,000,000 nano-USD. Prices are ``Decimal`` (from decimal strings in the
configuration); usage counts are integers; the only rounding is the final ceiling to a
whole nano-USD, so a request is never under-billed by a fraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Context, Decimal

from gatewayz.config import Pricing

NANO_PER_USD = 1_000_000_000
# A key's balance never exceeds this (USD 1 billion), far inside a signed 64-bit column.
MAX_BALANCE_NANO_USD = 10**18
# The largest amount the gateway stores or answers: a signed 64-bit integer of nano-USD
# (about USD 9.2 billion).
MAX_NANO_USD = 2**63 - 1
_NANO = Decimal(NANO_PER_USD)
_MILLION = Decimal(1_000_000)
_THOUSAND = Decimal(1_000)
# Wide enough that no realistic count x price loses a digit before the final rounding.
_EXACT = Context(prec=60)


@dataclass(frozen=True, slots=True)
class Usage:
    """What one request consumed, in the units prices are quoted in."""

    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    input_chars: int = 0
    requests: int = 1


def usd_to_nano(amount: Decimal) -> int:
    """Convert an exact USD amount to nano-USD, rounding any fraction up."""
    return int((amount * _NANO).to_integral_value(rounding=ROUND_CEILING, context=_EXACT))


def cost_nano_usd(pricing: Pricing, usage: Usage) -> int:
    """The cost of ``usage`` at ``pricing``: an exact decimal sum, rounded up once."""
    ctx = _EXACT
    total = ctx.add(
        ctx.divide(
            ctx.add(
                ctx.multiply(Decimal(usage.input_tokens), pricing.input_per_million_usd),
                ctx.multiply(Decimal(usage.output_tokens), pricing.output_per_million_usd),
            ),
            _MILLION,
        ),
        ctx.add(
            ctx.add(
                ctx.multiply(Decimal(usage.images), pricing.per_image_usd),
                ctx.multiply(Decimal(usage.requests), pricing.per_request_usd),
            ),
            ctx.divide(
                ctx.multiply(Decimal(usage.input_chars), pricing.per_1k_chars_usd), _THOUSAND
            ),
        ),
    )
    return usd_to_nano(total)


def nano_to_usd_string(nano: int) -> str:
    """A human-readable USD amount with all nine decimals, e.g. ``0.000125000``."""
    sign = "-" if nano < 0 else ""
    whole, frac = divmod(abs(nano), NANO_PER_USD)
    return f"{sign}{whole}.{frac:09d}"


def usd_per_million(price: Decimal) -> str:
    """A per-million price as a plain decimal string (as HF's /v1/models expects)."""
    return format(price.normalize(), "f") if price else "0"
