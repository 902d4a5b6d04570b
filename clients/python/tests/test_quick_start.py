"""The README's async example runs as written against a gateway on the configuration the
README gives for it, and its text stays the client's first published example.

The only substitution is the placeholder key; the gateway's URL comes from
``GATEWAYZ_BASE_URL``."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from live import Gateway, llama_server

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
# SHA-256 of the example as first published (the Python example of the quick-start document
# the client was written from): code written from it must keep working unchanged.
FIRST_PUBLISHED = "e899ea5a58bd5977fa1c7e5b943ac0907cd03391b6bd15e62aabdec96c2cfb67"


def readme_block(marker: str, language: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```{language}\n(.*?)```", README, re.S)
    assert match, f"the README lost its {marker} block"
    return match.group(1)


@pytest.fixture(scope="module")
def gpt_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    work = tmp_path_factory.mktemp("quick-start")
    llama = llama_server(work).wait()
    config = yaml.safe_load(readme_block("quick-start-config", "yaml"))
    (provider,) = config["providers"]
    assert provider["base_url"] == "http://127.0.0.1:8080/v1"
    provider["base_url"] = f"{llama.url}/v1"  # the free port it got
    server = Gateway(work, config)
    server.wait()
    yield server
    server.stop()
    llama.stop()


def test_example_is_the_first_published_one() -> None:
    code = readme_block("quick-start", "python")
    assert hashlib.sha256(code.encode()).hexdigest() == FIRST_PUBLISHED


def test_example_runs_on_the_readme_configuration(gpt_gateway: Gateway) -> None:
    code = readme_block("quick-start", "python")
    assert code.count('"your-key"') == 1
    key = gpt_gateway.create_keys({"me": []})["me"]
    env = {**os.environ, "GATEWAYZ_BASE_URL": gpt_gateway.url}
    done = subprocess.run(
        [sys.executable, "-c", code.replace('"your-key"', repr(key))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-2] == "Available: 1 text-generation models"
    # 100 input tokens at $0.50 and 50 output tokens at $1.50 per million.
    assert lines[-1] == "Cost: $0.000125000"  # exact, to the nano-USD
    assert "".join(lines[:-2]).strip()  # the generated text
