from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Gateway, ImageUpstream, LlamaUpstream, ToolUpstream, free_port
from tests.upstreams import TroubleUpstream


@pytest.fixture(scope="session")
def llama_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaUpstream]:
    server = LlamaUpstream(tmp_path_factory.mktemp("llama"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tool_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolUpstream]:
    """The deterministic tool-calling upstream (tests/families/tool_upstream.py)."""
    server = ToolUpstream(tmp_path_factory.mktemp("tool-upstream"))
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
        "default_models": {"conversational": "smol-upstream", "text-generation": "smol-upstream"},
        **extra,
    }


@pytest.fixture(scope="session")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, llama_upstream: LlamaUpstream
) -> Iterator[Gateway]:
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


UPSTREAM_SECRET = "upstream-secret-1f0c"
PRICING = {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"}


@pytest.fixture(scope="session")
def trouble_upstream(llama_upstream: LlamaUpstream) -> Iterator[TroubleUpstream]:
    server = TroubleUpstream(llama_upstream.base_url, UPSTREAM_SECRET)
    yield server
    server.stop()


def _model(model_id: str, *providers: str, task: str = "conversational") -> dict[str, object]:
    return {
        "id": model_id,
        "hub_model_id": f"test/{model_id}",
        "task": task,
        "context_length": 4096,
        "routes": [
            {"provider": p, "model": "smollm2", "priority": i} for i, p in enumerate(providers)
        ],
        "pricing": PRICING,
    }


@pytest.fixture(scope="session")
def trouble_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    llama_upstream: LlamaUpstream,
    trouble_upstream: TroubleUpstream,
) -> Iterator[Gateway]:
    """A gateway whose providers are down, slow, broken, or need an upstream key."""
    workdir = tmp_path_factory.mktemp("trouble")
    t = trouble_upstream
    providers = [
        {"name": "llama", "kind": "openai", "base_url": llama_upstream.base_url},
        {"name": "down", "kind": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
        {"name": "slow", "kind": "openai", "base_url": t.base("slow"), "timeout_s": 0.5},
        {"name": "broken", "kind": "openai", "base_url": t.base("status500")},
        {"name": "garbage", "kind": "openai", "base_url": t.base("garbage")},
        {"name": "recorder", "kind": "openai", "base_url": t.base("proxy")},
        {"name": "cutoff", "kind": "openai", "base_url": t.base("cutoff")},
        {"name": "flaky", "kind": "openai", "base_url": t.base("flaky")},
        {"name": "ratelimited", "kind": "openai", "base_url": t.base("ratelimited")},
        {
            "name": "authed",
            "kind": "openai",
            "base_url": t.base("auth"),
            "api_key_env": "TROUBLE_UPSTREAM_KEY",
        },
        {
            "name": "authed-wrong",
            "kind": "openai",
            "base_url": t.base("auth"),
            "api_key_env": "TROUBLE_WRONG_KEY",
        },
    ]
    models = [
        _model("smol-authed-wrong", "authed-wrong"),
        _model("smol-down", "down"),
        _model("smol-slow", "slow"),
        _model("smol-500", "broken"),
        _model("smol-garbage", "garbage"),
        _model("smol-recorded", "recorder"),
        _model("smol-cutoff", "cutoff"),
        _model("smol-flaky", "flaky"),
        _model("smol-ratelimited", "ratelimited"),
        _model("smol-authed", "authed"),
        _model("smol-failover", "down", "llama"),
        _model("embedder", "llama", task="feature-extraction"),
    ]
    config = {
        "database_url": f"sqlite:///{workdir / 'trouble.db'}",
        "auth_cache_ttl_s": 0,
        "max_body_bytes": 65536,
        "providers": providers,
        "models": models,
        # These tests look at how each failure is answered, call after call; when a
        # circuit breaker opens is the subject of tests/routing.
        "routing": {"failures_to_open": 10_000, "min_calls_for_ratio": 10_000},
    }
    server = Gateway(
        workdir,
        config,
        env={"TROUBLE_UPSTREAM_KEY": UPSTREAM_SECRET, "TROUBLE_WRONG_KEY": "not-the-secret"},
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trouble_key(trouble_gateway: Gateway) -> str:
    return trouble_gateway.create_key("trouble")


@pytest.fixture(scope="session")
def image_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageUpstream]:
    server = ImageUpstream(tmp_path_factory.mktemp("images"))
    yield server
    server.stop()
