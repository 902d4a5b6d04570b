"""Several instances on one database: a change through one is served by all, no restart."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.registry.test_registry_api import api_config, mapping
from tests.servers import PYTHON, Gateway

# The registry polls its change counter every second; allow scheduling slack.
PROPAGATION_S = 5.0


def registry_ids(gw: Gateway, headers: dict[str, str]) -> dict[str, str]:
    models = httpx.get(f"{gw.url}/hf/tasks/models", headers=headers).json()["models"]
    return {m["provider_model_id"]: m["status"] for m in models}


def wait_for(check: Any) -> float:
    started = time.monotonic()
    while time.monotonic() - started < PROPAGATION_S:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError("the change did not reach the other instance in time")


def test_change_through_one_instance_is_seen_by_the_other(
    tmp_path: Path, database_url: str
) -> None:
    config = {**api_config(tmp_path / "unused.db"), "database_url": database_url}
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    a = Gateway(a_dir, config)
    b = Gateway(b_dir, config)
    try:
        admin = {"Authorization": f"Bearer {a.create_key('admin', '--admin')}"}
        assert registry_ids(b, admin) == {"smol-local": "live"}

        r = httpx.post(f"{a.url}/hf/tasks/models/map", json=mapping("shared"), headers=admin)
        assert r.status_code == 201, r.text
        assert registry_ids(a, admin)["shared"] == "live"  # at once on the writer
        wait_for(lambda: registry_ids(b, admin).get("shared") == "live")
        models = httpx.get(f"{b.url}/v1/models", headers=admin).json()["data"]
        assert "shared" in {m["id"] for m in models}

        r = httpx.put(
            f"{b.url}/hf/tasks/models/shared/status", json={"status": "staging"}, headers=admin
        )
        assert r.status_code == 200
        wait_for(lambda: registry_ids(a, admin).get("shared") == "staging")

        # A third process (the CLI) removes it: both servers follow.
        config_path = tmp_path / "cli.yaml"
        config_path.write_text(yaml.safe_dump(config))
        subprocess.run(
            [PYTHON, "-m", "gatewayz", "--config", str(config_path), "models", "unmap", "shared"],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        wait_for(lambda: "shared" not in registry_ids(a, admin))
        wait_for(lambda: "shared" not in registry_ids(b, admin))
    finally:
        a.stop()
        b.stop()
