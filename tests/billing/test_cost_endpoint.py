"""POST /hf/tasks/billing/cost: the calculator, and its 422s naming the item."""

from __future__ import annotations

import pytest

from tests.billing.conftest import Env


def test_prices_each_item_and_the_total(env: Env) -> None:
    body = {
        "requests": [
            {
                "task": "conversational",
                "model": "example-chat",
                "input_tokens": 100,
                "output_tokens": 50,
            },
            {
                "task": "conversational",
                "model": "example-all-prices",
                "input_tokens": 1,
                "output_tokens": 1,
                "images": 2,
                "input_chars": 1500,
            },
        ]
    }
    r = env.post("/hf/tasks/billing/cost", env.user, body)
    assert r.status_code == 200, r.text
    out = r.json()
    first, second = out["costs"]
    assert first["cost_nano_usd"] == 125_000 and first["cost_usd"] == "0.000125000"
    assert first["model"] == "example-chat" and first["input_tokens"] == 100
    # 500 + 1,500 (tokens) + 2 x 4,000,000 (images) + 100,000 (request) + 1.5 x 15,000,000 (chars)
    assert second["cost_nano_usd"] == 500 + 1_500 + 8_000_000 + 100_000 + 22_500_000
    assert out["total_cost_nano_usd"] == first["cost_nano_usd"] + second["cost_nano_usd"]
    assert out["total_cost_usd"] == "0.030727000"


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"input_tokens": -1}, "requests[1].input_tokens"),
        ({"output_tokens": 1.5}, "requests[1].output_tokens"),
        ({"images": "3"}, "requests[1].images"),
        ({"model": "no-such-model"}, "requests[1]"),
        ({"task": "text-to-image"}, "requests[1]"),
    ],
)
def test_bad_items_are_422_naming_the_index(
    env: Env, item: dict[str, object], fragment: str
) -> None:
    good = {
        "task": "conversational",
        "model": "example-chat",
        "input_tokens": 1,
        "output_tokens": 1,
    }
    r = env.post("/hf/tasks/billing/cost", env.user, {"requests": [good, {**good, **item}]})
    assert r.status_code == 422, r.text
    assert fragment in r.json()["error"]


def test_needs_a_key(env: Env) -> None:
    assert env.post("/hf/tasks/billing/cost", "gz_nope_nope", {"requests": []}).status_code == 401
