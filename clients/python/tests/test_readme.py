"""The README's first example runs as written against a fresh embedded-default gateway
(``gatewayz serve`` with no configuration); only the key placeholder and the port differ."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from live import PYTHON, Server

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_embedded_example(tmp_path: Path) -> None:
    match = re.search(r"<!-- embedded-example -->\n```python\n(.*?)```", README, re.S)
    assert match, "the README lost its embedded-default example"
    code = match.group(1)
    assert code.count('api_key="gz_..."') == 1 and "http://127.0.0.1:8000" in code
    args = [PYTHON, "-m", "gatewayz", "serve", "--port", "{port}"]
    server = Server("embedded", args, tmp_path, "/health").wait()
    try:
        key = (tmp_path / ".gatewayz-key").read_text().strip()  # written at first start
        assert key.startswith("gz_")
        code = code.replace("gz_...", key).replace("http://127.0.0.1:8000", server.url)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=180
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    # The generated text and its request id, then the streamed chat answer (any text).
    generated, _request_id, streamed = re.split(r" ([0-9a-f-]{36})\n", done.stdout, maxsplit=1)
    assert generated.strip() and streamed.strip()
