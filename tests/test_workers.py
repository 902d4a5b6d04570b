"""``gatewayz serve --workers N``: every worker serves, and /metrics on any of them
reports the whole server."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.servers import Gateway


def test_two_workers_share_one_metrics_view(tmp_path: Path) -> None:
    config = {
        "database_url": f"sqlite:///{tmp_path / 'gw.db'}",
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
    gateway = Gateway(tmp_path, config, workers=2)
    try:
        key = gateway.create_key("w")
        for _ in range(12):
            resp = httpx.post(
                f"{gateway.url}/hf/tasks/text-classification",
                timeout=30,
                json={"inputs": "great"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert resp.status_code == 200
        line = re.compile(
            r'gatewayz_requests_total\{model="sentiment",route="hf_task",'
            r'status="200"\} (\S+)'
        )
        for _ in range(4):  # whichever worker answers, the count is the server's
            metrics = httpx.get(f"{gateway.url}/metrics", timeout=10).text
            found = line.search(metrics)
            assert found and float(found.group(1)) == 12.0
    finally:
        gateway.stop()
