"""The README's examples run as written against a fresh embedded-default server (only its
address differs: the test server listens on a free port), in a directory whose ``.venv`` is
the environment running the tests, as ``scripts/setup.sh`` makes it for a checkout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, Gateway

README = (ROOT / "README.md").read_text()
DEFAULT_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = Gateway(tmp_path_factory.mktemp("readme"), None)
    assert (Path(sys.prefix) / "bin" / "activate").exists(), "the tests run outside a venv"
    (server.workdir / ".venv").symlink_to(sys.prefix)
    yield server
    server.stop()


def block(language: str, containing: str) -> str:
    found = [b for b in re.findall(rf"```{language}\n(.*?)```", README, re.S) if containing in b]
    assert len(found) == 1, f"expected one {language} block with {containing!r}"
    return found[0]


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_curl_example(embedded: Gateway) -> None:
    script = block("bash", "/v1/chat/completions").replace(DEFAULT_URL, embedded.url)
    out = run(["bash", "-c", script], embedded.workdir)
    assert '"object":"chat.completion"' in out and '"usage"' in out


def test_python_example_and_gatewayz_command_from_the_venv(embedded: Gateway) -> None:
    """The way the README says to run them: ``. .venv/bin/activate``, then ``python
    example.py`` and ``gatewayz keys list``, from a shell whose PATH has no venv."""
    script = block("python", "InferenceClient").replace(DEFAULT_URL, embedded.url)
    (embedded.workdir / "example.py").write_text(script)
    path = ":".join(p for p in os.environ["PATH"].split(":") if not p.startswith(sys.prefix))
    env = {**os.environ, "PATH": path}
    env.pop("VIRTUAL_ENV", None)
    out = run(["bash", "-euc", block("bash", ". .venv/bin/activate")], embedded.workdir, env)
    printed, listing = out.split("\n(1, 384)\n")
    assert "completion_tokens=" in printed
    assert "first-run" in listing and "admin" in listing  # the key serve made at start


def test_programs_run_by_path_without_activating(embedded: Gateway) -> None:
    commands = "(`.venv/bin/python example.py`, `.venv/bin/gatewayz keys list`)"
    assert commands in " ".join(README.split())
    script = block("python", "InferenceClient").replace(DEFAULT_URL, embedded.url)
    (embedded.workdir / "example.py").write_text(script)
    assert run([".venv/bin/python", "example.py"], embedded.workdir).endswith("(1, 384)\n")
    assert "first-run" in run([".venv/bin/gatewayz", "keys", "list"], embedded.workdir)


def test_openapi_document_and_reference_page(embedded: Gateway) -> None:
    table = " ".join(README.split())
    assert "| `GET /openapi.json`, `GET /docs` |" in table
    script = block("bash", "openapi.json").replace(DEFAULT_URL, embedded.url)
    run(["bash", "-euc", script], embedded.workdir)
    doc = json.loads((embedded.workdir / "openapi.json").read_text())
    assert doc["openapi"] == "3.1.0" and "/v1/chat/completions" in doc["paths"]
    page = httpx.get(embedded.url + "/docs", timeout=30)
    assert page.status_code == 200 and "swagger-ui" in page.text
