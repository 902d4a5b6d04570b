"""The cost function against an independent calculation with exact fractions."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from gatewayz.config import Pricing
from gatewayz.money import Usage, cost_nano_usd, nano_to_usd_string

prices = st.decimals(min_value=0, max_value=1000, places=9, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=10**9)


def reference(pricing: dict[str, Decimal], usage: Usage) -> int:
    """Exact rational arithmetic, then an integer ceiling: no Decimal contexts involved."""
    usd = (
        Fraction(usage.input_tokens) * Fraction(pricing["input_per_million_usd"]) / 10**6
        + Fraction(usage.output_tokens) * Fraction(pricing["output_per_million_usd"]) / 10**6
        + Fraction(usage.images) * Fraction(pricing["per_image_usd"])
        + Fraction(usage.requests) * Fraction(pricing["per_request_usd"])
        + Fraction(usage.input_chars) * Fraction(pricing["per_1k_chars_usd"]) / 1000
    )
    nano = usd * 10**9
    return -((-nano.numerator) // nano.denominator)


@given(
    st.fixed_dictionaries(
        {
            name: prices
            for name in (
                "input_per_million_usd",
                "output_per_million_usd",
                "per_image_usd",
                "per_request_usd",
                "per_1k_chars_usd",
            )
        }
    ),
    counts,
    counts,
    st.integers(0, 10**6),
    st.integers(0, 10**9),
    st.integers(0, 1),
)
def test_cost_matches_exact_fractions(
    raw: dict[str, Decimal], inp: int, out: int, images: int, chars: int, requests: int
) -> None:
    pricing = Pricing.model_validate({k: str(v) for k, v in raw.items()})
    usage = Usage(inp, out, images, chars, requests)
    cost = cost_nano_usd(pricing, usage)
    assert isinstance(cost, int)
    assert cost == reference(raw, usage)


@given(counts, counts)
def test_cost_is_never_below_the_exact_amount_and_under_one_nano_above(inp: int, out: int) -> None:
    pricing = Pricing(input_per_million_usd=Decimal("0.333"), output_per_million_usd="1.7")
    exact = (Fraction(inp) * Fraction("0.333") + Fraction(out) * Fraction("1.7")) / 10**6 * 10**9
    cost = cost_nano_usd(pricing, Usage(inp, out, requests=0))
    assert exact <= cost < exact + 1


def test_the_documented_examples() -> None:
    pricing = Pricing(input_per_million_usd="0.50", output_per_million_usd="1.50")
    assert cost_nano_usd(pricing, Usage(100, 50)) == 50_000 + 75_000 == 125_000
    assert nano_to_usd_string(125_000) == "0.000125000"
    assert nano_to_usd_string(500_000_000) == "0.500000000"
    # One token at $0.50 per million is 500 nano-USD; a third of a nano-USD rounds up to 1.
    assert cost_nano_usd(pricing, Usage(1, 0)) == 500
    third = Pricing(input_per_million_usd="0.000333")
    assert cost_nano_usd(third, Usage(1, 0)) == 1
