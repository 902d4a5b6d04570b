"""Construction: API key and base URL from the environment, secrets kept out of reprs,
context managers closing the pool."""

from __future__ import annotations

import uuid

import anyio
import httpx
import pytest

from gatewayz_py_hf import AsyncGatewayzClient, GatewayzClient, GatewayzError
from live import Server


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch, standin: Server) -> None:
    key = uuid.uuid4().hex[:12]
    monkeypatch.setenv("GATEWAYZ_API_KEY", "gwz_from-env")
    monkeypatch.setenv("GATEWAYZ_BASE_URL", f"{standin.url}/s/{key}/200/0/-/v1")
    with GatewayzClient() as client:
        assert client.text_generation("hi").generated_text == "recovered"
    seen = httpx.get(f"{standin.url}/count/{key}").json()
    assert seen["headers"]["authorization"] == "Bearer gwz_from-env"
    assert str(client.base_url) == f"{standin.url}/s/{key}/200/0/-/"  # "/v1" is dropped


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAYZ_API_KEY", raising=False)
    with pytest.raises(GatewayzError, match="GATEWAYZ_API_KEY"):
        GatewayzClient()
    with pytest.raises(GatewayzError):
        AsyncGatewayzClient(api_key="")
    with pytest.raises(ValueError):
        GatewayzClient("k", max_retries=-1)


def test_repr_hides_key() -> None:
    client = GatewayzClient("gwz_secret-value", base_url="http://127.0.0.1:9")
    assert "gwz_secret-value" not in repr(client) and "127.0.0.1:9" in repr(client)
    client.close()


def test_context_managers_close_the_pool() -> None:
    with GatewayzClient("k", base_url="http://127.0.0.1:9") as client:
        assert not client._http.is_closed
    assert client._http.is_closed

    async def run() -> None:
        async with AsyncGatewayzClient("k", base_url="http://127.0.0.1:9") as aclient:
            assert not aclient._http.is_closed
        assert aclient._http.is_closed

    anyio.run(run)


def test_injected_http_client_is_not_closed(standin: Server) -> None:
    key = uuid.uuid4().hex[:12]
    with httpx.Client() as http:
        with GatewayzClient(
            "k", base_url=f"{standin.url}/s/{key}/200/0/-", http_client=http
        ) as client:
            assert client.text_generation("hi").generated_text == "recovered"
        assert not http.is_closed
