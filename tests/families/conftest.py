"""Fixtures for the Responses and Messages API tests: a real gateway process in front of
a deterministic tool-calling upstream (as an OpenAI-kind and as an HF-kind provider)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.servers import Gateway, ToolUpstream

PRICING = {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"}
CONTEXT = 4096


def chat_model(model_id: str, provider: str, upstream_model: str) -> dict[str, Any]:
    """A priced conversational model served by one route."""
    return {
        "id": model_id,
        "hub_model_id": f"example/{model_id}",
        "task": "conversational",
        "context_length": CONTEXT,
        "routes": [{"provider": provider, "model": upstream_model}],
        "pricing": PRICING,
    }


def tool_providers(upstream: ToolUpstream) -> list[dict[str, Any]]:
    """``upstream`` as an OpenAI-kind provider (``tooly``) and an HF-kind one (``tooly-hf``)."""
    return [
        {"name": "tooly", "kind": "openai", "base_url": upstream.base_url},
        {"name": "tooly-hf", "kind": "hf", "base_url": upstream.root},
    ]


def families_config(upstream: ToolUpstream, db: Path) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        "providers": [
            *tool_providers(upstream),
            {
                "name": "tooly-native",
                "kind": "openai",
                "base_url": upstream.base_url,
                "responses_api": True,
            },
        ],
        "models": [
            chat_model("tooly", "tooly", "tooly"),
            chat_model("tooly-hf", "tooly-hf", "tooly"),
            chat_model("tooly-native", "tooly-native", "tooly"),
            chat_model("tooly-slow", "tooly", "slow"),
            chat_model("tooly-cutoff", "tooly", "cutoff"),
        ],
    }


@pytest.fixture(scope="session")
def families(
    tmp_path_factory: pytest.TempPathFactory, tool_upstream: ToolUpstream
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("families")
    server = Gateway(workdir, families_config(tool_upstream, workdir / "gw.db"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def key(families: Gateway) -> str:
    return families.create_key("families")


def openai_client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def anthropic_client(gateway: Gateway, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)


def usage_row(gateway: Gateway, request_id: str) -> Any:
    (row,) = gateway.rows("SELECT * FROM usage_records WHERE request_id = ?", request_id)
    return row
