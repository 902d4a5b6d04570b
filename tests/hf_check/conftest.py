"""A gateway in front of the deterministic tool-calling upstream (tests/families), with
chat models that do tools and structured output properly (``decider``, as an OpenAI-kind
and as an HF-kind provider), models that break one probe each and one whose upstream is
down; and the ``gatewayz hf check`` command run against it.

``@huggingface/inference`` is installed in clients/js first (``npm ci`` when missing), so
every check here runs the JS client's probes too."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.billing.conftest import FakeUpstream
from tests.families.conftest import PRICING, chat_model, tool_providers
from tests.provider_kit.test_js_client import _npm_ci
from tests.servers import PYTHON, Gateway, ToolUpstream, free_port


def check_config(upstream: ToolUpstream, db: Path, texts: FakeUpstream) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        "providers": [
            *tool_providers(upstream),
            {"name": "texts", "kind": "openai", "base_url": texts.base_url},
            # Nothing listens there: every call through it fails.
            {"name": "down", "kind": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
        ],
        "models": [
            chat_model("good-chat", "tooly", "decider"),
            chat_model("good-chat-hf", "tooly-hf", "decider"),
            chat_model("notools-chat", "tooly", "notools"),
            chat_model("badjson-chat", "tooly", "badjson"),
            chat_model("slow-chat", "tooly", "slowstart"),
            chat_model("down-chat", "down", "decider"),
            {
                "id": "good-text",
                "hub_model_id": "example/good-text",
                "task": "text-generation",
                "context_length": 4096,
                "routes": [{"provider": "texts", "model": "words"}],
                "pricing": PRICING,
            },
        ],
    }


@pytest.fixture(scope="session")
def text_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeUpstream]:
    """An OpenAI-compatible upstream with ``/v1/completions``, for text generation."""
    server = FakeUpstream(tmp_path_factory.mktemp("text-upstream"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def js_library() -> None:
    """clients/js/node_modules with ``@huggingface/inference``, where ``hf check`` looks."""
    _npm_ci()


@pytest.fixture(scope="session")
def gw(
    tmp_path_factory: pytest.TempPathFactory,
    tool_upstream: ToolUpstream,
    text_upstream: FakeUpstream,
    js_library: None,
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("hf-check")
    server = Gateway(workdir, check_config(tool_upstream, workdir / "gw.db", text_upstream))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def admin_key(gw: Gateway) -> str:
    return gw.create_key("admin", "--admin")


@pytest.fixture(scope="session")
def user_key(gw: Gateway) -> str:
    return gw.create_key("user")


def hf_check(
    gw: Gateway, key: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``gatewayz hf check`` as an operator runs it, against ``gw`` (``env``: instead of
    the gateway's environment)."""
    return subprocess.run(
        [PYTHON, "-m", "gatewayz", "hf", "check", "--url", gw.url, "--key", key, *args],
        cwd=gw.workdir,
        env=gw.env if env is None else env,
        capture_output=True,
        text=True,
        timeout=900,  # the embedded default's first calls load its models
    )


def hf_check_json(
    gw: Gateway, key: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    out = hf_check(gw, key, "--json", *args, env=env)
    assert out.stdout.startswith("{"), out.stdout + out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return out.returncode, doc


def probes(doc: dict[str, Any], model: str, client: str = "python") -> dict[str, dict[str, Any]]:
    """``model``'s probes through ``client`` (python or js), by name."""
    (report,) = [m for m in doc["models"] if m["model"] == model]
    return {p["probe"]: p for p in report["probes"] if p["client"] == client}
