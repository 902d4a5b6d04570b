from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Gateway, LlamaUpstream


@pytest.fixture(scope="session")
def llama_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaUpstream]:
    server = LlamaUpstream(tmp_path_factory.mktemp("llama"))
    yield server
    server.stop()


def upstream_config(upstream_url: str, db: Path, **extra: object) -> dict[str, object]:
    """A gateway configuration with one OpenAI-compatible upstream and priced models."""
    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        "providers": [
            {"name": "llama", "kind": "openai", "base_url": upstream_url, "timeout_s": 60},
            {"name": "local", "kind": "local"},
        ],
        "models": [
            {
                "id": "smol-upstream",
                "hub_model_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
                "task": "conversational",
                "context_length": 4096,
                "routes": [{"provider": "llama", "model": "smollm2"}],
                "pricing": {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"},
            },
            {
                "id": "smol-local",
                "hub_model_id": "local/SmolLM2-135M-Instruct",
                "task": "conversational",
                "status": "staging",
                "context_length": 8192,
                "routes": [{"provider": "local", "model": "smollm2-135m-instruct"}],
                "pricing": {"input_per_million_usd": "0.10", "output_per_million_usd": "0.20"},
            },
        ],
        **extra,
    }


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory,
            llama_upstream: LlamaUpstream) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("gateway")
    server = Gateway(workdir, upstream_config(llama_upstream.base_url, workdir / "gw.db"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def admin_key(gateway: Gateway) -> str:
    return gateway.create_key("admin", "--admin")


@pytest.fixture(scope="session")
def user_key(gateway: Gateway) -> str:
    return gateway.create_key("user")
