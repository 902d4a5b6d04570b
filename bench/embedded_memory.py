"""How much memory each embedded model costs, in one command.

    python bench/embedded_memory.py [--alone]

Starts ``gatewayz serve`` with the embedded default (no configuration; SQLite in a
temporary directory) on a free 127.0.0.1 port, reads the server process's resident set
size (``VmRSS`` in ``/proc/PID/status``) once it is ready, then sends one request to each
embedded model in turn and reads it again after each: the growth is what that model's
first use loaded. Models share runtimes (the three MiniLM models, spaCy for NER and
summaries), so a model used after another that loaded the same runtime adds little; with
``--alone`` each model is also measured in a fresh server of its own, which is what it
costs when it is the only one used. Translation is skipped when Apertium is not installed
(it runs as a separate process per request, so it adds nothing to the server's memory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EIFFEL = (
    "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was designed by the "
    "company of Gustave Eiffel. It opened in 1889 for the World's Fair. It is now a global "
    "icon of France."
)
# (model id, path, body): one first use of each model of the embedded default.
REQUESTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "smollm2-135m-instruct",
        "/v1/chat/completions",
        {
            "model": "smollm2-135m-instruct",
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "max_tokens": 16,
        },
    ),
    (
        "all-minilm-l6-v2",
        "/hf/tasks/feature-extraction",
        {"model": "all-minilm-l6-v2", "inputs": "The cat sat on the mat."},
    ),
    (
        "minilm-zero-shot",
        "/hf/tasks/zero-shot-classification",
        {
            "model": "minilm-zero-shot",
            "inputs": "The striker scored twice in the cup final.",
            "parameters": {"candidate_labels": ["sports", "politics", "cooking"]},
        },
    ),
    (
        "minilm-textrank-summarizer",
        "/hf/tasks/summarization",
        {"model": "minilm-textrank-summarizer", "inputs": EIFFEL},
    ),
    (
        "en-core-web-sm",
        "/hf/tasks/token-classification",
        {"model": "en-core-web-sm", "inputs": "Gustave Eiffel built a tower in Paris."},
    ),
    (
        "vader-sentiment",
        "/hf/tasks/text-classification",
        {"model": "vader-sentiment", "inputs": "I love this gateway."},
    ),
    (
        "apertium-en-es",
        "/hf/tasks/translation",
        {"model": "apertium-en-es", "inputs": "The cat is sleeping."},
    ),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MB (MiB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, key: str) -> None:
        self.proc, self.url, self.key = proc, url, key

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{path}: {exc.code} {exc.read().decode()[:300]}") from None


@contextmanager
def embedded_server() -> Iterator[Server]:
    """``gatewayz serve`` with no configuration, in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="gatewayz-memory-") as workdir:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "GATEWAYZ_CONFIG"}
        log = open(Path(workdir) / "gateway.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatewayz", "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, proc, Path(workdir) / "gateway.log")
            key = (Path(workdir) / ".gatewayz-key").read_text().strip()
            yield Server(proc, url, key)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gatewayz exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=1) as answer:
                if answer.status == 200:
                    time.sleep(0.5)  # let start-up allocations settle before the baseline
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gatewayz did not become ready:\n{log.read_text()}")


def measured_requests() -> list[tuple[str, str, dict[str, Any]]]:
    has_apertium = shutil.which("apertium") is not None
    return [r for r in REQUESTS if r[0] != "apertium-en-es" or has_apertium]


def in_one_process() -> tuple[float, list[tuple[str, float]]]:
    """The baseline, then the RSS after each model's first use, all in one server."""
    with embedded_server() as server:
        baseline = rss_mb(server.proc.pid)
        after = []
        for model, path, body in measured_requests():
            server.post(path, body)
            after.append((model, rss_mb(server.proc.pid)))
        return baseline, after


def alone(model: str, path: str, body: dict[str, Any]) -> float:
    """The growth of a fresh server after the first use of ``model`` only."""
    with embedded_server() as server:
        before = rss_mb(server.proc.pid)
        server.post(path, body)
        return rss_mb(server.proc.pid) - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alone", action="store_true", help="also measure each model alone")
    args = parser.parse_args()
    baseline, after = in_one_process()
    alone_mb = {m: alone(m, p, b) for m, p, b in measured_requests()} if args.alone else {}
    print(f"gatewayz serve, embedded default, ready and unused: RSS {baseline:.0f} MB\n")
    header = f"{'model (first use, in this order)':<34}{'RSS after':>10}{'growth':>9}"
    print(header + (f"{'alone':>9}" if alone_mb else ""))
    previous = baseline
    for model, rss in after:
        line = f"{model:<34}{rss:>7.0f} MB{rss - previous:>+6.0f} MB"
        if alone_mb:
            line += f"{alone_mb[model]:>+6.0f} MB"
        print(line)
        previous = rss
    print(f"\nall embedded models used: {after[-1][1]:.0f} MB ({after[-1][1] - baseline:+.0f} MB)")
    if shutil.which("apertium") is None:
        print("(apertium is not installed: translation was not measured)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
