"""What a gateway shows beyond answers: who may read ``/metrics`` and where, and what
standard keys learn about the models (only live ones, only public fields)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.checks import bearer, hf_error, inference_id
from tests.servers import Gateway, free_port

# Internal details no standard key may see.
UPSTREAM_ROUTE = "private-vllm-7"
UPSTREAM_MODEL = "internal/llama-finetune-v3"
TOKENIZER = "/srv/models/private/tokenizer.json"
STAGING = "preview-chat"
PUBLIC_FIELDS = {
    "provider_model_id",
    "hub_model_id",
    "task_type",
    "tasks",
    "status",
    "context_length",
    "pricing",
    "adapter_type",
    "base_model",
    "local_only",  # served but never pushed to the Hub: no upstream detail
}


def config(db: Path, **extra: Any) -> dict[str, Any]:
    route = {"provider": UPSTREAM_ROUTE, "model": UPSTREAM_MODEL}
    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        # Never called by these tests.
        "providers": [
            {"name": UPSTREAM_ROUTE, "kind": "openai", "base_url": "http://127.0.0.1:9/v1"}
        ],
        "models": [
            {
                "id": "public-chat",
                "hub_model_id": "acme/public-chat",
                "task": "conversational",
                "context_length": 8192,
                "tokenizer": TOKENIZER,
                "routes": [route],
                "pricing": {"input_per_million_usd": "0.10", "output_per_million_usd": "0.20"},
            },
            {
                "id": STAGING,
                "hub_model_id": "acme/preview-chat",
                "task": "conversational",
                "status": "staging",
                "routes": [route],
            },
        ],
        **extra,
    }


def start(tmp_path: Path, workers: int = 1, **extra: Any) -> Gateway:
    return Gateway(tmp_path, config(tmp_path / "gw.db", **extra), workers=workers)


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = start(tmp_path_factory.mktemp("exposure"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def keys(gw: Gateway) -> dict[str, dict[str, str]]:
    return {
        "admin": bearer(gw.create_key("ops", "--admin")),
        "partner": bearer(gw.create_key("hf", "--partner")),
        "standard": bearer(gw.create_key("user")),
    }


def internal_details(text: str) -> list[str]:
    return [s for s in (UPSTREAM_ROUTE, UPSTREAM_MODEL, TOKENIZER, STAGING) if s in text]


@pytest.mark.parametrize("who", ["standard", "partner"])
def test_other_keys_discover_live_models_and_public_fields_only(
    gw: Gateway, keys: dict[str, dict[str, str]], who: str
) -> None:
    headers = keys[who]
    listing = httpx.get(f"{gw.url}/hf/tasks/models", headers=headers)
    assert listing.status_code == 200
    (model,) = listing.json()["models"]
    assert model["provider_model_id"] == "public-chat" and set(model) == PUBLIC_FIELDS
    assert model["pricing"]["input_per_million_usd"] == "0.10"
    assert model["context_length"] == 8192
    staging = httpx.get(f"{gw.url}/hf/tasks/models", params={"status": "staging"}, headers=headers)
    assert staging.json() == {"models": []}
    hub = httpx.get(f"{gw.url}/hf/tasks/models/registry", headers=headers)
    assert hub.json() == {
        "conversational": {"acme/public-chat": {"providerId": "public-chat", "status": "live"}}
    }
    v1 = httpx.get(f"{gw.url}/v1/models", headers=headers)
    assert [m["id"] for m in v1.json()["data"]] == ["public-chat"]
    audit = httpx.get(f"{gw.url}/hf/tasks/models/audit", headers=headers)
    assert "admin" in hf_error(audit, 403)
    for resp in (listing, staging, hub, v1, audit):
        assert not internal_details(resp.text), resp.text


def test_admins_see_every_entry_in_full(gw: Gateway, keys: dict[str, dict[str, str]]) -> None:
    models = httpx.get(f"{gw.url}/hf/tasks/models", headers=keys["admin"]).json()["models"]
    by_id = {m["provider_model_id"]: m for m in models}
    assert set(by_id) == {"public-chat", STAGING}
    public = by_id["public-chat"]
    assert public["routes"] == [
        {"provider": UPSTREAM_ROUTE, "model": UPSTREAM_MODEL, "priority": 0, "weight": 1}
    ]
    assert public["tokenizer"] == TOKENIZER and public["source"] == "config"
    hub = httpx.get(f"{gw.url}/hf/tasks/models/registry", headers=keys["admin"]).json()
    assert hub["conversational"]["acme/preview-chat"]["status"] == "staging"


def test_metrics_are_open_by_default(gw: Gateway) -> None:
    resp = httpx.get(f"{gw.url}/metrics")
    assert resp.status_code == 200 and "gatewayz_requests_total" in resp.text


def test_metrics_behind_an_admin_key(tmp_path: Path) -> None:
    gateway = start(tmp_path, metrics={"require_admin_key": True})
    try:
        admin, user = gateway.create_key("ops", "--admin"), gateway.create_key("user")
        for headers, said in (
            ({}, "missing API key"),
            (bearer("gz_000000000000_not-a-key"), "invalid API key"),
            (bearer(user), "needs an admin API key"),
        ):
            denied = httpx.get(f"{gateway.url}/metrics", headers=headers)
            assert said in hf_error(denied, 401)
            assert "gatewayz_" not in denied.text
        ok = httpx.get(f"{gateway.url}/metrics", headers=bearer(admin))
        assert ok.status_code == 200 and "gatewayz_requests_total" in ok.text
    finally:
        gateway.stop()


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=10)


def count(metrics: str, route: str, status: str) -> float:
    line = re.compile(
        rf'gatewayz_requests_total\{{model="",route="{route}",status="{status}"\}} (\S+)'
    )
    found = line.search(metrics)
    return float(found.group(1)) if found else 0.0


def test_metrics_on_their_own_listener_behind_an_admin_key_with_two_workers(
    tmp_path: Path,
) -> None:
    port = free_port()
    listen = {"listen": f"127.0.0.1:{port}", "require_admin_key": True}
    gateway = start(tmp_path, workers=2, metrics=listen)
    try:
        half_sent = socket.create_connection(("127.0.0.1", port), timeout=20)
        half_sent.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
        admin, user = gateway.create_key("ops", "--admin"), gateway.create_key("user")
        for _ in range(6):
            assert httpx.get(f"{gateway.url}/v1/models", headers=bearer(user)).status_code == 200
        main = httpx.get(f"{gateway.url}/metrics", headers=bearer(admin))
        assert hf_error(main, 404) == "no such route"
        for headers, said in (({}, "missing API key"), (bearer(user), "needs an admin API key")):
            denied = raw_get(port, "/metrics", headers)
            assert said in hf_error(denied, 401)
            assert denied.headers["www-authenticate"] == "Bearer"
            assert "gatewayz_" not in denied.text
        for _ in range(4):  # whichever worker answers, it reports the whole server
            resp = raw_get(port, "/metrics", bearer(admin))
            assert resp.status_code == 200 and inference_id(resp)
            assert resp.headers["content-type"].startswith("text/plain")
            assert count(resp.text, "models", "200") == 6
        assert hf_error(raw_get(port, "/v1/models", bearer(admin)), 404) == "no such route"
        hf_error(httpx.post(f"http://127.0.0.1:{port}/metrics", timeout=10), 405)
        with half_sent:
            assert half_sent.recv(1) == b""  # closed by the listener (READ_TIMEOUT_S)
        assert raw_get(port, "/metrics", bearer(admin)).status_code == 200
    finally:
        gateway.stop()
