"""Fixtures for the Responses and Messages API tests: a real gateway process in front of
a deterministic tool-calling upstream (as an OpenAI-kind and as an HF-kind provider)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.servers import Gateway, UvicornUpstream

PRICING = {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"}
CONTEXT = 4096


class ToolUpstream(UvicornUpstream):
    def __init__(self, workdir: Path) -> None:
        super().__init__("tests.families.tool_upstream:app", workdir, "tool-upstream")

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")

    def last(self) -> dict[str, Any]:
        """The chat completion body the upstream last received."""
        body: dict[str, Any] = httpx.get(f"{self.root}/last").json()
        return body


def families_config(upstream: ToolUpstream, db: Path) -> dict[str, Any]:
    def model(model_id: str, provider: str, upstream_model: str) -> dict[str, Any]:
        return {
            "id": model_id,
            "hub_model_id": f"example/{model_id}",
            "task": "conversational",
            "context_length": CONTEXT,
            "routes": [{"provider": provider, "model": upstream_model}],
            "pricing": PRICING,
        }

    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        "providers": [
            {"name": "tooly", "kind": "openai", "base_url": upstream.base_url},
            {"name": "tooly-hf", "kind": "hf", "base_url": upstream.root},
            {
                "name": "tooly-native",
                "kind": "openai",
                "base_url": upstream.base_url,
                "responses_api": True,
            },
        ],
        "models": [
            model("tooly", "tooly", "tooly"),
            model("tooly-hf", "tooly-hf", "tooly"),
            model("tooly-native", "tooly-native", "tooly"),
            model("tooly-slow", "tooly", "slow"),
            model("tooly-cutoff", "tooly", "cutoff"),
        ],
    }


@pytest.fixture(scope="session")
def tool_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolUpstream]:
    server = ToolUpstream(tmp_path_factory.mktemp("tool-upstream"))
    yield server
    server.stop()


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
