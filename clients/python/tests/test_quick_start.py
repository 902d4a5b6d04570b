"""The Python example of the original note runs as written against a live gateway.

The example is kept verbatim in the README (between the ``quick-start`` markers); the
only substitution is the placeholder key, and the gateway's URL comes from
``GATEWAYZ_BASE_URL``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from live import Gateway

README = Path(__file__).resolve().parent.parent / "README.md"
SEED = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "seed"
    / ("HUGGINGFACE_QUICK_START.original.md")
)


def readme_example() -> str:
    match = re.search(r"<!-- quick-start -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert match, "the README lost its quick-start example"
    return match.group(1)


def test_example_is_the_original_one() -> None:
    if not SEED.exists():
        pytest.skip(f"{SEED} is not beside this checkout")
    seed = SEED.read_text()
    start = seed.index("### Python\n\n```python\n") + len("### Python\n\n```python\n")
    assert readme_example() == seed[start : seed.index("```", start)]


def test_example_runs(gateway: Gateway, keys: dict[str, str]) -> None:
    code = readme_example()
    assert code.count('"your-key"') == 1
    env = {**os.environ, "GATEWAYZ_BASE_URL": gateway.url}
    done = subprocess.run(
        [sys.executable, "-c", code.replace('"your-key"', repr(keys["user"]))],
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
