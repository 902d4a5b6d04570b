"""Registry and billing methods against the live gateway, sync and async."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from conftest import Client, Factory
from gatewayz_py_hf import ConflictError, NotFoundError, PermissionDeniedError, RegistryModel
from live import Gateway


def test_list_models(client: Client) -> None:
    models = client.list_models(task_type="text-generation")
    assert len(models) >= 1 and all(m.task_type == "text-generation" for m in models)
    assert "gpt-3.5-turbo" in {m.provider_model_id for m in models}
    everything = client.list_models()
    assert isinstance(everything[0], RegistryModel)
    assert {m.task_type for m in everything} >= {"summarization", "fill-mask", "text-to-image"}
    assert len(client.list_models(status="staging")) == 0


def test_map_set_status_unmap(admin: Client) -> None:
    name = f"mapped-{uuid.uuid4().hex[:8]}"
    created = admin.map_model(
        name,
        "sentence-transformers/all-MiniLM-L6-v2",
        "feature-extraction",
        routes=[{"provider": "local", "model": "default"}],
        pricing={"per_request_usd": Decimal("0.0002")},
    )
    assert created.created and created.status == "staging"
    assert created.pricing["per_request_usd"] == Decimal("0.0002")
    assert created.routes[0].provider == "local"
    again = admin.map_model(
        name,
        "sentence-transformers/all-MiniLM-L6-v2",
        "feature-extraction",
        routes=[{"provider": "local", "model": "default"}],
    )
    assert not again.created
    with pytest.raises(ConflictError):  # never checked with gatewayz hf check
        admin.set_model_status(name, "live")
    live = admin.set_model_status(name, "live", force=True)
    assert live.status == "live"
    assert name in {m.provider_model_id for m in admin.list_models(status="live")}
    assert admin.unmap_model(name).deleted == name
    with pytest.raises(NotFoundError):
        admin.unmap_model(name)


def test_config_models_cannot_be_unmapped(admin: Client) -> None:
    with pytest.raises(ConflictError) as info:
        admin.unmap_model("minilm")
    assert info.value.status_code == 409


def test_map_model_needs_admin(client: Client) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        client.map_model(
            "x", "y/z", "summarization", routes=[{"provider": "local", "model": "default"}]
        )
    assert info.value.status_code == 403 and info.value.request_id


def test_calculate_cost(client: Client) -> None:
    cost = client.calculate_cost(
        [
            {
                "task": "text-generation",
                "model": "gpt-3.5-turbo",
                "input_tokens": 100,
                "output_tokens": 50,
            },
            {"task": "summarization", "model": "summarizer", "input_chars": 1000},
        ]
    )
    # $0.50 / $1.50 per million: 100 x 500 + 50 x 1,500 = 125,000 nano-USD;
    # $0.0001 per request + $0.00002 per 1,000 characters = 120,000 nano-USD.
    assert [c.cost_nano_usd for c in cost.costs] == [125_000, 120_000]
    assert cost.total_cost_nano_usd == 245_000
    assert cost.total_cost_usd == Decimal("0.000245")
    assert cost.costs[0].cost_usd == Decimal("0.000125")


def test_usage_billing_lookup_and_balance(
    make_client: Factory, gateway: Gateway, keys: dict[str, str]
) -> None:
    user = make_client(keys["user"], base_url=gateway.url)
    since = datetime.now(UTC) - timedelta(seconds=5)
    served = [user.text_classification(text, model="sentiment") for text in ("good", "bad", "ok")]
    ids = [r.inference_id for r in served]

    page = user.get_usage(start=since, model="sentiment", limit=2)
    assert len(page.data) == 2 and page.next_cursor is not None
    assert page.totals.requests >= 3 and page.totals.cost_nano_usd == sum(
        r.cost_nano_usd for r in user.collect_iter("iter_usage", start=since, model="sentiment")
    )
    records = user.collect_iter("iter_usage", start=since, model="sentiment", page_size=2)
    assert set(ids) <= {r.request_id for r in records}
    mine = {r.request_id: r for r in records}
    assert mine[ids[0]].task == "text-classification" and mine[ids[0]].status == 200
    # $0.0001 per request + 4 characters at $0.00002 per 1,000 = 100,080 nano-USD
    assert mine[ids[0]].cost_nano_usd == 100_080 and mine[ids[0]].created_at >= since

    admin = make_client(keys["admin"], base_url=gateway.url)
    costs = admin.get_request_costs([*ids, "no-such-request"])
    assert costs.by_id() == {rid: mine[rid].cost_nano_usd for rid in ids}
    partner = make_client(keys["partner"], base_url=gateway.url)
    assert partner.get_request_costs(ids).requests == []  # not a partner key's requests
    with pytest.raises(PermissionDeniedError):
        user.get_request_costs(ids)

    balance = user.get_balance()
    assert balance.unlimited and balance.balance_nano_usd is None
    broke = make_client(keys["broke"], base_url=gateway.url).get_balance()
    assert not broke.unlimited and broke.balance_nano_usd == 1
    assert broke.balance_usd == Decimal("0.000000001")
