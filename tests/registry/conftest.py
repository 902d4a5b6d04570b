"""Fixtures for the registry tests: the Hub stand-in, and a gateway workdir driven by the
real ``gatewayz`` command."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from gatewayz.db.migrate import upgrade
from gatewayz.hub_standin import HubStandin
from tests.servers import PYTHON

PROVIDER = "gatewayz-test"
TOKEN = "hf_standin_write_token"
# Upstreams are never called by these tests: only their kinds (and so their tasks) matter.
UNREACHABLE = "http://127.0.0.1:9/v1"
# The live models of ``registry_config``: the ``workdir`` fixture records a passing check
# of each, so that ``hf sync`` pushes them live (tests/hf_check tests the gate itself).
LIVE_MODELS = ("smol-chat", "flux-lora")


def registry_config(db: Path) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        "providers": [
            {"name": "chat", "kind": "openai", "base_url": UNREACHABLE},
            {"name": "hfserver", "kind": "hf", "base_url": UNREACHABLE},
            {"name": "local", "kind": "local"},
        ],
        "models": [
            {
                "id": "smol-chat",
                "hub_model_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
                "task": "conversational",
                "status": "live",
                "routes": [{"provider": "chat", "model": "smollm2"}],
                "pricing": {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"},
            },
            {
                "id": "smol-base",
                "hub_model_id": "HuggingFaceTB/SmolLM2-135M",
                "task": "text-generation",
                "status": "staging",
                "routes": [{"provider": "chat", "model": "smollm2-base"}],
            },
            {
                "id": "flux-lora",
                "hub_model_id": "black-forest-labs/FLUX.1-dev",
                "task": "text-to-image",
                "adapter_type": "lora",
                "base_model": "black-forest-labs/FLUX.1-dev",
                "routes": [{"provider": "hfserver", "model": "flux-dev-lora"}],
                "pricing": {"per_image_usd": "0.025"},
            },
        ],
    }


class Workdir:
    """A configuration file and SQLite database, and the CLI run against them."""

    def __init__(self, path: Path, hub: HubStandin) -> None:
        self.path = path
        self.db = path / "registry.db"
        self.config_path = path / "gatewayz.yaml"
        self.hub = hub
        self.write_config(registry_config(self.db))

    def write_config(self, config: dict[str, Any]) -> None:
        self.config_path.write_text(yaml.safe_dump(config))

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "GATEWAYZ_CONFIG")}
        full_env.update(env or {})
        return subprocess.run(
            [PYTHON, "-m", "gatewayz", "--config", str(self.config_path), *args],
            cwd=self.path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def sync(self, *extra: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
        env = {"HF_TOKEN": token} if token is not None else {}
        return self.cli(
            "hf", "sync", "--provider", PROVIDER, "--hub-url", self.hub.url, *extra, env=env
        )

    def create_database(self) -> None:
        """Migrate the database as ``gatewayz serve`` (and ``keys create``) do at their
        first start, in-process to save a CLI start per test: the registry commands
        never create one (tests/registry/test_sync_safety.py)."""
        if not self.db.exists():
            upgrade(f"sqlite:///{self.db}")

    def models(self) -> list[dict[str, Any]]:
        out = self.cli("models", "list", "--json")
        assert out.returncode == 0, out.stderr
        result: list[dict[str, Any]] = json.loads(out.stdout)
        return result

    def version(self) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute("SELECT version FROM registry_state").fetchone()[0])

    def pass_checks(self, *model_ids: str, passed: bool = True) -> None:
        """Record a passing (or failing) ``hf check`` of each model now, as the gateway
        stores one (``POST /hf/tasks/models/{id}/checks``, tested in tests/hf_check): the
        models these tests push live passed their conformance check."""
        self.create_database()
        assert self.cli("models", "list").returncode == 0  # seeded
        result = "pass" if passed else "fail"
        probe = {"probe": "call", "client": "python", "result": result, "reason": None}
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy writes
        with sqlite3.connect(self.db) as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO model_checks VALUES (?, ?, ?, ?, 'test')",
                [(m, now, passed, json.dumps([{**probe, "latency_ms": 10}])) for m in model_ids],
            )

    def audit_count(self) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute("SELECT count(*) FROM registry_audit").fetchone()[0])


@pytest.fixture(scope="session")
def hub() -> Iterator[HubStandin]:
    server = HubStandin().start()
    yield server
    server.stop()


@pytest.fixture
def workdir(tmp_path: Path, hub: HubStandin) -> Workdir:
    hub.reset(PROVIDER, TOKEN)
    workdir = Workdir(tmp_path, hub)
    workdir.pass_checks(*LIVE_MODELS)
    return workdir


PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    name = f"gatewayz_registry_{secrets.token_hex(6)}"
    asyncio.run(_pg(f"CREATE DATABASE {name}"))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        asyncio.run(_pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
