"""Money: integer nano-USD from exact decimal prices, rounded up once; checked against an
independent calculation with ``fractions.Fraction``."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayz.config import Pricing
from gatewayz.money import NANO_PER_USD, Usage, cost_nano_usd, nano_to_usd_string, usd_to_nano

prices = st.decimals(min_value=0, max_value=1000, places=9, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=10**9)


def reference_cost(pricing: Pricing, usage: Usage) -> int:
    usd = (
        usage.input_tokens * Fraction(pricing.input_per_million_usd) / 1_000_000
        + usage.output_tokens * Fraction(pricing.output_per_million_usd) / 1_000_000
        + usage.images * Fraction(pricing.per_image_usd)
        + usage.requests * Fraction(pricing.per_request_usd)
        + usage.input_chars * Fraction(pricing.per_1k_chars_usd) / 1_000
    )
    return -((-usd * NANO_PER_USD).numerator // (usd * NANO_PER_USD).denominator)


def test_the_issue_examples() -> None:
    pricing = Pricing(input_per_million_usd=Decimal("0.50"), output_per_million_usd=Decimal("1.50"))
    cost = cost_nano_usd(pricing, Usage(input_tokens=100, output_tokens=50))
    assert cost == 125_000 and type(cost) is int
    assert nano_to_usd_string(500_000_000) == "0.500000000"
    assert nano_to_usd_string(cost) == "0.000125000"


def test_a_fraction_of_a_nano_usd_rounds_up() -> None:
    pricing = Pricing(input_per_million_usd=Decimal("0.0001"))
    # 1 token at $0.0001 per million = 0.1 nano-USD: billed as 1, never 0.
    assert cost_nano_usd(pricing, Usage(input_tokens=1)) == 1
    assert cost_nano_usd(pricing, Usage(input_tokens=10)) == 1
    assert cost_nano_usd(pricing, Usage(input_tokens=11)) == 2
    assert cost_nano_usd(pricing, Usage()) == 0


def test_other_price_units() -> None:
    pricing = Pricing(
        per_image_usd=Decimal("0.04"),
        per_request_usd=Decimal("0.001"),
        per_1k_chars_usd=Decimal("0.015"),
    )
    usage = Usage(images=3, input_chars=1500, requests=1)
    assert cost_nano_usd(pricing, usage) == 120_000_000 + 1_000_000 + 22_500_000


def test_prices_as_floats_are_refused() -> None:
    with pytest.raises(ValueError, match="not floats"):
        Pricing(input_per_million_usd=0.5)  # type: ignore[arg-type]


@given(
    prices,
    prices,
    prices,
    prices,
    prices,
    counts,
    counts,
    counts,
    counts,
    st.integers(min_value=0, max_value=3),
)
def test_cost_matches_an_exact_fraction_calculation(
    p_in: Decimal,
    p_out: Decimal,
    p_img: Decimal,
    p_req: Decimal,
    p_chars: Decimal,
    tokens_in: int,
    tokens_out: int,
    images: int,
    chars: int,
    requests: int,
) -> None:
    pricing = Pricing(
        input_per_million_usd=p_in,
        output_per_million_usd=p_out,
        per_image_usd=p_img,
        per_request_usd=p_req,
        per_1k_chars_usd=p_chars,
    )
    usage = Usage(tokens_in, tokens_out, images, chars, requests)
    cost = cost_nano_usd(pricing, usage)
    assert type(cost) is int
    assert cost == reference_cost(pricing, usage)


@given(prices, counts, counts)
def test_cost_never_under_bills_and_over_bills_by_less_than_one_nano(
    p_in: Decimal, tokens_in: int, tokens_out: int
) -> None:
    pricing = Pricing(input_per_million_usd=p_in, output_per_million_usd=p_in * 3)
    exact = (tokens_in + 3 * tokens_out) * Fraction(p_in) * 1000  # nano-USD
    cost = cost_nano_usd(pricing, Usage(input_tokens=tokens_in, output_tokens=tokens_out))
    assert cost == math.ceil(exact)
    assert 0 <= cost - exact < 1


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_nano_to_usd_string_round_trips(nano: int) -> None:
    text = nano_to_usd_string(nano)
    whole, _, frac = text.lstrip("-").partition(".")
    assert len(frac) == 9 and whole.isdigit()
    assert Fraction(text) * NANO_PER_USD == nano
    assert usd_to_nano(Decimal(text)) == nano
