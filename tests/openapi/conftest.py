"""The gateway the API document is tested on: the embedded default's task models (MiniLM,
spaCy, VADER, Apertium) and a chat model on the deterministic fake upstream (fast, so a
fuzzer's ``max_tokens`` costs nothing), each the default of its tasks, on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatewayz.config import EMBEDDED_TASK_MODELS
from tests.billing.conftest import fake_upstream
from tests.servers import Gateway

__all__ = ["fake_upstream"]

CHAT_MODEL = "example-chat"
# The model serving each task by default (the embedded default's, but chat on the fake).
DEFAULT_MODELS = {
    **{task: model_id for model_id, task, _, _ in EMBEDDED_TASK_MODELS},
    "sentence-similarity": "all-minilm-l6-v2",
    "conversational": CHAT_MODEL,
    "text-generation": CHAT_MODEL,
}


def openapi_config(upstream_url: str, workdir: Path) -> dict[str, Any]:
    tasks = [
        {
            "id": model_id,
            "hub_model_id": hub_id,
            "task": task,
            "context_length": 256,
            "routes": [{"provider": "local", "model": local_model}],
        }
        for model_id, task, hub_id, local_model in EMBEDDED_TASK_MODELS
    ]
    chat = {
        "id": CHAT_MODEL,
        "hub_model_id": "example/example-chat",
        "task": "conversational",
        "tasks": ["text-generation"],
        "context_length": 4096,
        "routes": [{"provider": "fake", "model": "fast"}],
        "pricing": {"input_per_million_usd": "0.5", "output_per_million_usd": "1.5"},
    }
    return {
        "database_url": f"sqlite:///{workdir / 'gatewayz.db'}",
        "providers": [
            {"name": "local", "kind": "local"},
            {"name": "fake", "kind": "openai", "base_url": upstream_url},
        ],
        "models": [chat, *tasks],
        "default_models": DEFAULT_MODELS,
    }


@dataclass
class ApiEnv:
    gw: Gateway
    admin: str

    @property
    def url(self) -> str:
        return self.gw.url

    def document(self) -> dict[str, Any]:
        resp = httpx.get(self.url + "/openapi.json", timeout=60)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/json"
        doc: dict[str, Any] = resp.json()
        return doc


@pytest.fixture(scope="session")
def api_env(fake_upstream: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    workdir = tmp_path_factory.mktemp("openapi")
    gw = Gateway(workdir, openapi_config(fake_upstream.base_url, workdir))
    try:
        yield ApiEnv(gw, gw.create_key("admin", "--admin"))
    finally:
        gw.stop()
