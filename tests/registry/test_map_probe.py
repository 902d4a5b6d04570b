"""Mapping asks the upstream what it serves: against llama.cpp's real OpenAI-compatible
server (chat, no images), the test image server (images, no model list) and a port with
nothing behind it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.checks import inference_id
from tests.servers import Gateway, ImageUpstream, LlamaUpstream

DOWN = "http://127.0.0.1:9/v1"


@pytest.fixture(scope="module")
def gw(
    tmp_path_factory: pytest.TempPathFactory,
    llama_upstream: LlamaUpstream,
    image_upstream: ImageUpstream,
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("map-probe")
    config = {
        "database_url": f"sqlite:///{workdir / 'gw.db'}",
        "providers": [
            {"name": "chat", "kind": "openai", "base_url": llama_upstream.base_url},
            {"name": "images", "kind": "openai", "base_url": image_upstream.base_url},
            {"name": "down", "kind": "openai", "base_url": DOWN},
            {"name": "local", "kind": "local"},
        ],
        "models": [],
    }
    server = Gateway(workdir, config)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(gw: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gw.create_key('admin', '--admin')}"}


def body(model_id: str, task: str, provider: str, upstream_model: str) -> dict[str, Any]:
    return {
        "provider_model_id": model_id,
        "hub_model_id": "black-forest-labs/FLUX.1-dev"
        if task == "text-to-image"
        else "HuggingFaceTB/SmolLM2-135M-Instruct",
        "task_type": task,
        "routes": [{"provider": provider, "model": upstream_model}],
    }


def map_model(
    gw: Gateway,
    admin: dict[str, str],
    model_id: str,
    task: str,
    provider: str,
    upstream_model: str,
    **extra: Any,
) -> httpx.Response:
    """``POST /hf/tasks/models/map`` of ``body(...)`` (and ``extra`` fields) as the admin."""
    return httpx.post(
        f"{gw.url}/hf/tasks/models/map",
        json={**body(model_id, task, provider, upstream_model), **extra},
        headers=admin,
        timeout=30,
    )


def cli_map(
    gw: Gateway, model_id: str, hub: str, task: str, route: str
) -> subprocess.CompletedProcess[str]:
    """``gatewayz models map`` of one route, as an operator runs it."""
    return gw.cli(
        "models",
        "map",
        *gw.config_args,
        "--id",
        model_id,
        "--hub",
        hub,
        "--task",
        task,
        "--route",
        route,
        check=False,
    )


def registered(gw: Gateway, admin: dict[str, str]) -> set[str]:
    models = httpx.get(f"{gw.url}/hf/tasks/models", headers=admin).json()["models"]
    return {m["provider_model_id"] for m in models}


def test_text_to_image_on_a_chat_upstream_is_refused(gw: Gateway, admin: dict[str, str]) -> None:
    r = map_model(gw, admin, "chat-images", "text-to-image", "chat", "smollm2")
    assert r.status_code == 400, r.text
    assert r.json()["error"] == (
        "task 'text-to-image' does not fit model 'chat-images': routes[0]: upstream 'chat' "
        "answers HTTP 404 to POST /images/generations, so it does not serve text-to-image"
    )
    assert inference_id(r) in r.text
    assert "chat-images" not in registered(gw, admin)  # nothing stored


def test_a_model_the_upstream_does_not_list_is_refused(gw: Gateway, admin: dict[str, str]) -> None:
    r = map_model(gw, admin, "llama-typo", "conversational", "chat", "smollm3")
    assert r.status_code == 400, r.text
    assert r.json()["error"] == (
        "routes[0]: upstream 'chat' does not serve model 'smollm3': its /models lists smollm2"
    )
    assert "llama-typo" not in registered(gw, admin)


def test_what_the_upstream_serves_is_mapped_without_notes(
    gw: Gateway, admin: dict[str, str]
) -> None:
    r = map_model(gw, admin, "smol-up", "conversational", "chat", "smollm2")
    assert r.status_code == 201, r.text
    assert "notes" not in r.json()
    # The image server has no /v1/models: said, and its endpoint is still asked.
    r = map_model(gw, admin, "flux", "text-to-image", "images", "flux-dev")
    assert r.status_code == 201, r.text
    assert r.json()["notes"] == [
        "routes[0]: upstream 'images' does not list its models (GET /models: HTTP 404): "
        "model 'flux-dev' was not checked; `gatewayz hf check` is where it would fail"
    ]


def test_an_upstream_that_is_down_is_said_plainly(gw: Gateway, admin: dict[str, str]) -> None:
    r = map_model(gw, admin, "on-down", "text-to-image", "down", "anything")
    assert r.status_code == 201, r.text
    (note,) = r.json()["notes"]
    assert note.startswith("routes[0]: upstream 'down' could not be reached (")
    assert note.endswith(
        "): what it serves was not checked; `gatewayz hf check` is where it would fail"
    )


def test_the_cli_is_refused_the_same_way(gw: Gateway, tmp_path: Path) -> None:
    out = cli_map(gw, "cli-images", "black-forest-labs/FLUX.1-dev", "text-to-image", "chat:smollm2")
    assert out.returncode == 1
    assert "upstream 'chat' answers HTTP 404 to POST /images/generations" in out.stderr
    down = cli_map(
        gw, "cli-down", "HuggingFaceTB/SmolLM2-135M-Instruct", "conversational", "down:x"
    )
    assert down.returncode == 0, down.stderr
    assert "note: routes[0]: upstream 'down' could not be reached" in down.stderr


@pytest.mark.parametrize(
    ("task", "local_model", "why"),
    [
        ("text-to-image", "default", "no embedded model serves 'text-to-image'"),
        ("fill-mask", "default", "no embedded model serves 'fill-mask'"),
        (
            "conversational",
            "no-such-model",
            "no embedded model named 'no-such-model'; known: smollm2-135m-instruct",
        ),
    ],
)
def test_an_embedded_route_is_asked_what_this_install_serves(
    gw: Gateway, admin: dict[str, str], task: str, local_model: str, why: str
) -> None:
    model_id = f"local-{task}"
    r = map_model(gw, admin, model_id, task, "local", local_model)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == (
        f"task {task!r} does not fit model {model_id!r}: routes[0] goes to the embedded "
        f"provider, and {why}"
    )
    assert inference_id(r) in r.text and model_id not in registered(gw, admin)


def test_an_embedded_route_this_install_serves_is_mapped(
    gw: Gateway, admin: dict[str, str]
) -> None:
    r = map_model(
        gw,
        admin,
        "local-vectors",
        "feature-extraction",
        "local",
        "default",
        tasks=["sentence-similarity"],
    )
    assert r.status_code == 201, r.text
    assert "notes" not in r.json() and "local-vectors" in registered(gw, admin)
