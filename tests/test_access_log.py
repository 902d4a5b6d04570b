"""``access_log: true`` writes one line per request, keyed by its Inference-Id."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.servers import Gateway


def test_access_log_line_per_request(tmp_path: Path) -> None:
    config = {
        "database_url": f"sqlite:///{tmp_path / 'gw.db'}",
        "access_log": True,
        "providers": [{"name": "local", "kind": "local"}],
        "models": [
            {
                "id": "sentiment",
                "hub_model_id": "o/s",
                "task": "text-classification",
                "routes": [{"provider": "local", "model": "default"}],
            }
        ],
        "default_models": {"text-classification": "sentiment"},
    }
    gateway = Gateway(tmp_path, config)
    try:
        key = gateway.create_key("log")
        ok = httpx.post(
            f"{gateway.url}/hf/tasks/text-classification",
            json={"inputs": "nice"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        denied = httpx.get(f"{gateway.url}/v1/models", timeout=10)
        deadline = time.monotonic() + 5
        text = ""
        while time.monotonic() < deadline:
            text = gateway.log.read_text()
            if denied.headers["inference-id"] in text:
                break
            time.sleep(0.1)
        assert f"{ok.headers['inference-id']} POST /hf/tasks/text-classification 200" in text
        assert "model=sentiment" in text
        assert f"{denied.headers['inference-id']} GET /v1/models 401" in text
        assert key not in text
    finally:
        gateway.stop()
