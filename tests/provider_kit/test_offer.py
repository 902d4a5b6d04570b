"""What goes in the kit: which registry entries, which tasks, and that the kit knows every
task the gateway does."""

from __future__ import annotations

from importlib.resources import files

import pytest

from gatewayz.config import ConfigError, ModelConfig, Pricing, RouteConfig
from gatewayz.provider_kit.docs_kit import page
from gatewayz.provider_kit.identity import identity
from gatewayz.provider_kit.offer import offer_of
from gatewayz.provider_kit.task_names import CALLS, TASK_NAMES
from gatewayz.tasks import ALL_TASKS


def _model(model_id: str, task: str = "conversational", **extra: object) -> ModelConfig:
    return ModelConfig.model_validate(
        {
            "id": model_id,
            "hub_model_id": f"org/{model_id}",
            "task": task,
            "routes": [{"provider": "local", "model": "x"}],
            **extra,
        }
    )


def test_the_kit_knows_every_task_of_the_gateway() -> None:
    assert set(TASK_NAMES) == set(CALLS) == set(ALL_TASKS)
    templates = files("gatewayz.provider_kit").joinpath("templates", "js")
    for task in ALL_TASKS:
        if task != "conversational":
            assert templates.joinpath(f"{task}.ts.tmpl").is_file(), task


def test_live_entries_only_unless_staging_is_asked_for() -> None:
    models = [_model("live-chat"), _model("staged", "feature-extraction", status="staging")]
    assert [m.provider_id for m in offer_of(models).models] == ["live-chat"]
    assert offer_of(models).tasks == ("conversational", "text-generation")
    both = offer_of(models, include_staging=True)
    assert {m.provider_id for m in both.models} == {"live-chat", "staged"}
    assert "sentence-similarity" in both.tasks  # an embedding model serves it too


def test_local_only_and_lora_entries_are_left_out() -> None:
    local = _model("local-only-chat").model_copy(update={"local_only": True})
    lora = _model("lora", "text-to-image", adapter_type="lora", base_model="org/base")
    kept = _model("kept", "summarization")
    assert [m.provider_id for m in offer_of([local, lora, kept]).models] == ["kept"]
    with pytest.raises(ConfigError, match="no live model"):
        offer_of([local, lora])


def test_prices_are_shown_as_decimals_never_floats() -> None:
    model = ModelConfig(
        id="priced",
        hub_model_id="org/priced",
        task="conversational",
        routes=(RouteConfig(provider="local", model="x"),),
        pricing=Pricing(
            input_per_million_usd="0.000000001",
            output_per_million_usd="12.50",
            per_request_usd="1E-3",
        ),
        context_length=131072,
    )
    text = page(identity("acme", "https://api.example.com"), offer_of([model]))
    row = next(line for line in text.splitlines() if "org/priced" in line)
    assert "| $0.000000001 | $12.50 | $0.001 per request | 131,072 |" in row
