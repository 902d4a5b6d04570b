"""Dashboard fixtures: one gateway per module, on the billing tests' tiny deterministic
upstream, with a model whose name is an HTML injection attempt, some usage to chart, and an
HTTP client logged in to the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.billing.conftest import (  # noqa: F401 (fixtures used by this directory's tests)
    PRICING,
    FakeUpstream,
    auth,
    billing_config,
    fake_upstream,
    fresh_database,
)
from tests.servers import Gateway

XSS = "<img src=x onerror=alert(1)>"
LOCAL_ONLY = "example-local-only"
CHECKED = "example-checked"


def dashboard_config(upstream_url: str, database_url: str) -> dict[str, Any]:
    config = billing_config(upstream_url, database_url)
    config["auth_cache_ttl_s"] = 30  # revocation must not wait for the cache: it is dropped
    config["models"].append(
        {
            "id": XSS,
            "hub_model_id": f"example/{XSS}",
            "task": "conversational",
            "context_length": 4096,
            "routes": [{"provider": "fake", "model": "fast"}],
            "pricing": PRICING,
        }
    )
    config["models"].append(
        {  # the model the browser tests run 'gatewayz hf check' on
            "id": CHECKED,
            "hub_model_id": "example/example-checked",
            "task": "conversational",
            "routes": [{"provider": "fake", "model": "fast"}],
            "pricing": PRICING,
        }
    )
    config["models"].append(
        {  # served here, never pushed to the Hub: the Models page says so
            "id": LOCAL_ONLY,
            "hub_model_id": "example/example-chat",  # the Hub id example-chat maps too
            "task": "conversational",
            "local_only": True,
            "routes": [{"provider": "fake", "model": "fast"}],
            "pricing": PRICING,
        }
    )
    return config


@dataclass
class Dash:
    gw: Gateway
    admin: str
    user: str

    @property
    def url(self) -> str:
        return self.gw.url

    def chat(self, key: str, model: str = "example-chat", words: int = 10) -> httpx.Response:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": " ".join(["hello"] * words)}],
            "max_tokens": 5,
        }
        return httpx.post(
            f"{self.url}/v1/chat/completions", json=body, headers=auth(key), timeout=60
        )

    def make_key(self, name: str, **fields: Any) -> str:
        """A new key made through the dashboard's API."""
        client, csrf = self.login()
        try:
            made = client.post(
                "/dashboard/api/keys",
                json={"name": name, **fields},
                headers={"X-CSRF-Token": csrf},
            )
        finally:
            client.close()
        assert made.status_code == 201, made.text
        return str(made.json()["key"])

    def refuse(self) -> list[httpx.Response]:
        """Requests refused before routing (no usage record): an unknown model, a body
        that is not JSON, a missing key."""
        url = f"{self.url}/v1/chat/completions"
        return [
            self.chat(self.user, "no-such-model"),
            httpx.post(url, content=b"{not json", headers=auth(self.user), timeout=30),
            httpx.post(url, json={"model": "example-chat", "messages": []}, timeout=30),
        ]

    def client(self) -> httpx.Client:
        """A client with this gateway's Origin on every request, as a browser sends it."""
        return httpx.Client(base_url=self.url, headers={"Origin": self.url}, timeout=30)

    def login(self, key: str | None = None) -> tuple[httpx.Client, str]:
        """A client logged in with ``key`` (the admin key) and the session's CSRF token."""
        client = self.client()
        resp = client.post("/dashboard/login", data={"key": key or self.admin})
        assert resp.status_code == 303, resp.text
        session = client.get("/dashboard/api/session")
        assert session.status_code == 200, session.text
        return client, str(session.json()["csrf_token"])


def start_dash(workdir: Path, upstream: FakeUpstream, database_url: str) -> Dash:
    """The gateway, its admin key (made by the CLI) and a standard key "alice" (made through
    the dashboard, which is quicker than a second CLI process)."""
    gw = Gateway(workdir, dashboard_config(upstream.base_url, database_url))
    dash = Dash(gw, gw.create_key("ops-admin", "--admin"), "")
    dash.user = dash.make_key("alice")
    return dash


@pytest.fixture(scope="module")
def dash(
    fake_upstream: FakeUpstream,  # noqa: F811
    fresh_database: Any,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Dash]:
    d = start_dash(tmp_path_factory.mktemp("dashboard"), fake_upstream, fresh_database("sqlite"))
    try:
        yield d
    finally:
        d.gw.stop()


def no_inline_script(page: str) -> None:
    """Every script is a file (the CSP allows no other), and no element has an on* handler."""
    for tag in re.findall(r"<script\b[^>]*>", page, re.I):
        assert "src=" in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page, re.I)
