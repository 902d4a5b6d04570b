"""What the Responses and Messages translations cost: the same request (same upstream,
same tokens) as a chat completion, a Responses call and a Messages call, interleaved,
one at a time over one keep-alive connection each; prints each family's p50/p99 and its
p50 above the chat completion's. Usage (from the repository root):

    PYTHONPATH=src:. python bench/families.py [--requests N]

It starts the test tool upstream (tests/families/tool_upstream.py) and a `gatewayz serve`
in front of it on free ports, under a temporary directory removed on exit.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.families.conftest import ToolUpstream, families_config
from tests.servers import Gateway

QUESTION = "What is the capital of France?"
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": (
        "/v1/chat/completions",
        {"model": "tooly", "max_tokens": 32, "messages": [{"role": "user", "content": QUESTION}]},
    ),
    "responses": ("/v1/responses", {"model": "tooly", "max_output_tokens": 32, "input": QUESTION}),
    "messages": (
        "/v1/messages",
        {"model": "tooly", "max_tokens": 32, "messages": [{"role": "user", "content": QUESTION}]},
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500, help="per family")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        upstream = ToolUpstream(workdir)
        gateway = Gateway(workdir, families_config(upstream, workdir / "gw.db"))
        try:
            key = gateway.create_key("bench")
            clients = {
                name: httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {key}"})
                for name in CALLS
            }
            times: dict[str, list[float]] = {name: [] for name in CALLS}
            for i in range(args.requests + 20):  # the first 20 of each warm up
                for name, (path, body) in CALLS.items():
                    start = time.perf_counter()
                    r = clients[name].post(path, json=body)
                    elapsed = time.perf_counter() - start
                    assert r.status_code == 200, r.text
                    if i >= 20:
                        times[name].append(elapsed * 1000)
            chat = statistics.median(times["chat"])
            for name, ms in times.items():
                p50, p99 = statistics.median(ms), statistics.quantiles(ms, n=100)[98]
                print(
                    f"{name:10} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  p50 - chat {p50 - chat:+.2f}"
                )
        finally:
            gateway.stop()
            upstream.stop()


if __name__ == "__main__":
    main()
