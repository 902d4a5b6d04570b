"""The README's examples run as written against a fresh embedded-default server (only its
address differs: the test server listens on a free port)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import PYTHON, ROOT, Gateway

README = (ROOT / "README.md").read_text()
DEFAULT_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = Gateway(tmp_path_factory.mktemp("readme"), None)
    yield server
    server.stop()


def block(language: str, containing: str) -> str:
    found = [b for b in re.findall(rf"```{language}\n(.*?)```", README, re.S) if containing in b]
    assert len(found) == 1, f"expected one {language} block with {containing!r}"
    return found[0]


def run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_curl_example(embedded: Gateway) -> None:
    script = block("bash", "curl").replace(DEFAULT_URL, embedded.url)
    out = run(["bash", "-c", script], embedded.workdir)
    assert '"object":"chat.completion"' in out and '"usage"' in out


def test_python_clients_example(embedded: Gateway) -> None:
    script = block("python", "InferenceClient").replace(DEFAULT_URL, embedded.url)
    out = run([PYTHON, "-c", script], embedded.workdir)
    assert out.strip().endswith("(1, 384)")
    assert "completion_tokens=" in out
