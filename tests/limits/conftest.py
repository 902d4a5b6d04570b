"""Rate-limit fixtures: the billing tests' deterministic upstream and throwaway databases,
a gateway configuration with limits, and a private ``redis-server`` on a free port (the
machine's shared Redis is never stopped or paused)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.billing.conftest import (  # noqa: F401  (fixtures)
    FakeUpstream,
    auth,
    billing_config,
    fake_upstream,
    fresh_database,
)
from tests.servers import free_port

CHAT = "/v1/chat/completions"


def limits_config(upstream_url: str, database_url: str, **limits: Any) -> dict[str, Any]:
    config = billing_config(upstream_url, database_url)
    config["limits"] = limits
    return config


def chat_body(max_tokens: int = 5, words: int = 10, **extra: Any) -> dict[str, Any]:
    return {
        "model": extra.pop("model", "example-chat"),
        "messages": [{"role": "user", "content": " ".join(["hello"] * words)}],
        "max_tokens": max_tokens,
        **extra,
    }


async def burst(
    urls: list[str], key: str, bodies: list[dict[str, Any]], path: str = CHAT
) -> list[httpx.Response]:
    """All at once, spread over ``urls`` in turn."""
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(urls[i % len(urls)] + path, json=body, headers=auth(key))
                for i, body in enumerate(bodies)
            )
        )


def statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


class RedisServer:
    """A private redis-server: it may be stopped, paused and restarted by a test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)


_INITDB = ("-A", "trust", "-U", "postgres", "--no-sync")


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (``initdb`` on a free port), so that three
    gateways' connection pools do not compete with other test runs on the shared server."""

    def __init__(self) -> None:
        bindir = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gatewayz-pg-"))
        self.data = self.dir / "data"
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if as_postgres:
            shutil.chown(self.dir, "postgres")
        self._ctl = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(self.data)]
        subprocess.run(
            [*as_postgres, str(bindir / "initdb"), "-D", str(self.data), *_INITDB],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=300 -c fsync=off -c synchronous_commit=off"
        subprocess.run(
            [*self._ctl, "-o", options, "-l", str(self.dir / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )

    def halt(self) -> None:
        """Stop the server (fast shutdown: open connections are cut), keeping its data."""
        subprocess.run([*self._ctl, "-m", "fast", "-w", "stop"], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self._ctl, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


class RedisClusterServers:
    """A Redis Cluster of three primaries (no replicas) on free ports, made with
    ``redis-cli --cluster create``."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self.ports = [free_port() for _ in range(3)]
        self.procs: list[subprocess.Popen[bytes]] = []
        for port in self.ports:
            node = workdir / str(port)
            node.mkdir()
            args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            args += ["--appendonly", "no", "--dir", str(node), "--cluster-enabled", "yes"]
            args += ["--cluster-config-file", str(node / "nodes.conf")]
            # The bus port is port + 10000 unless set: past 65535 for most free ports.
            args += ["--cluster-port", str(free_port())]
            self.procs.append(
                subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        for port in self.ports:
            self._wait(lambda port=port: self.cli(port, "PING") == "PONG", "a node did not start")
        create = ["redis-cli", "--cluster", "create"]
        create += [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [*create, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in self.ports:
            self._wait(
                lambda port=port: "cluster_state:ok" in self.cli(port, "CLUSTER", "INFO"),
                "the cluster did not become ready",
            )

    @staticmethod
    def _wait(ready: Any, message: str) -> None:
        deadline = time.monotonic() + 30
        while not ready():
            assert time.monotonic() < deadline, message
            time.sleep(0.1)

    @staticmethod
    def cli(port: int, *command: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-p", str(port), *command], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip()

    def keys_by_node(self) -> dict[int, list[str]]:
        return {port: self.cli(port, "KEYS", "*").split() for port in self.ports}

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(10)


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    yield servers
    servers.stop()
