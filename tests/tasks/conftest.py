"""Gateways for the task tests: one whose models are served by a real OpenAI-compatible
upstream (llama-cpp-python's server; the image server above for text-to-image), one by the
embedded models, and one that reaches the embedded gateway as an HF-compatible upstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gatewayz.upstreams.local import LOCAL_TASKS as LOCAL_TASK_NAMES
from gatewayz.upstreams.local import NO_EMBEDDED_MODEL
from gatewayz.upstreams.openai_tasks.base import StructuredChatTask
from gatewayz.upstreams.openai_tasks.registry import OPENAI_TASKS as OPENAI_HELPERS
from tests.servers import Gateway, ImageUpstream, LlamaUpstream

# Derived from the gateway's registries, so a task added there is tested here too: the
# tasks a chat model serves with structured output (the llama upstream has no embeddings
# or images), and those an embedded model answers (the rest answer 501).
OPENAI_TASKS = tuple(t for t, h in OPENAI_HELPERS.items() if isinstance(h, StructuredChatTask))
LOCAL_TASKS = tuple(sorted(LOCAL_TASK_NAMES - NO_EMBEDDED_MODEL))


def task_model(model_id: str, task: str, provider: str, upstream_model: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "hub_model_id": f"gatewayz-test/{model_id}",
        "task": task,
        "routes": [{"provider": provider, "model": upstream_model}],
        "pricing": {"per_request_usd": "0.0001", "per_1k_chars_usd": "0.00002"},
    }


def serve(
    factory: pytest.TempPathFactory,
    name: str,
    providers: list[dict[str, Any]],
    models: list[dict[str, Any]],
    env: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
) -> Iterator[Gateway]:
    """A gateway on its own SQLite database, stopped when the session ends."""
    workdir = factory.mktemp(name)
    config = {
        "database_url": f"sqlite:///{workdir / 'gw.db'}",
        "providers": providers,
        "models": models,
        "default_models": defaults or {},
    }
    server = Gateway(workdir, config, env=env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def openai_tasks_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    llama_upstream: LlamaUpstream,
    image_upstream: ImageUpstream,
) -> Iterator[Gateway]:
    models = [task_model(f"oa-{t}", t, "llama", "smollm2") for t in OPENAI_TASKS]
    models.append(task_model("oa-text-to-image", "text-to-image", "images", "test-diffusion"))
    models.append(task_model("oa-chat", "conversational", "llama", "smollm2"))
    providers = [
        {"name": "llama", "kind": "openai", "base_url": llama_upstream.base_url},
        {"name": "images", "kind": "openai", "base_url": image_upstream.base_url},
    ]
    yield from serve(tmp_path_factory, "openai-tasks", providers, models)


@pytest.fixture(scope="session")
def openai_tasks_key(openai_tasks_gateway: Gateway) -> str:
    return openai_tasks_gateway.create_key("tasks")


@pytest.fixture(scope="session")
def local_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    models = [task_model(f"local-{t}", t, "local", "default") for t in LOCAL_TASKS]
    models.append(task_model("local-text-to-image", "text-to-image", "local", "default"))
    providers = [{"name": "local", "kind": "local"}]
    defaults = {m["id"].removeprefix("local-"): m["id"] for m in models}
    yield from serve(tmp_path_factory, "local-tasks", providers, models, defaults=defaults)


@pytest.fixture(scope="session")
def local_key(local_gateway: Gateway) -> str:
    return local_gateway.create_key("local")


@pytest.fixture(scope="session")
def hf_gateway(
    tmp_path_factory: pytest.TempPathFactory, local_gateway: Gateway, local_key: str
) -> Iterator[Gateway]:
    """A gateway whose provider is the embedded gateway, reached as an HF-compatible
    server (``/models/{model}``), with the key in an environment variable."""
    models = [task_model(f"hf-{t}", t, "hfup", f"local-{t}") for t in LOCAL_TASKS]
    provider = {
        "name": "hfup",
        "kind": "hf",
        "api_key_env": "HFUP_KEY",
        "base_url": f"{local_gateway.url}/models/{{model}}",
    }
    yield from serve(tmp_path_factory, "hf-tasks", [provider], models, {"HFUP_KEY": local_key})


@pytest.fixture(scope="session")
def hf_key(hf_gateway: Gateway) -> str:
    return hf_gateway.create_key("hf")


@pytest.fixture(scope="session")
def openai_embeddings_gateway(
    tmp_path_factory: pytest.TempPathFactory, local_gateway: Gateway, local_key: str
) -> Iterator[Gateway]:
    """A gateway whose embeddings come from an OpenAI-compatible ``/v1/embeddings`` (the
    embedded gateway's), with the upstream key in an environment variable."""
    provider = {
        "name": "emb",
        "kind": "openai",
        "api_key_env": "EMB_KEY",
        "base_url": f"{local_gateway.url}/v1",
    }
    model = task_model(
        "oa-feature-extraction", "feature-extraction", "emb", "local-feature-extraction"
    )
    yield from serve(
        tmp_path_factory, "openai-embeddings", [provider], [model], {"EMB_KEY": local_key}
    )
