"""What the benchmarks share: child processes on free ports, nginx as the upstream, the
bare proxy, ``gatewayz serve`` and its keys, wrk and its figures, CPU and memory of a pid."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "bench-model"
STREAM_MODEL = "bench-stream"
BODY = json.dumps(
    {
        "model": MODEL,
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 16,
    }
)
STREAM_BODY = json.dumps({**json.loads(BODY), "model": STREAM_MODEL, "stream": True})
# nginx serves the streamed answer under this prefix (nginx.conf): content chunks, a usage
# chunk and [DONE], all at once, so that what a proxy adds per chunk is all that spreads them.
STREAM_PREFIX = "/stream"
STREAM_CHUNKS = 16  # = max_tokens: a plausible usage, billed as reported
CHAT_PATH = "/v1/chat/completions"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def which(name: str, *fallbacks: str) -> str:
    found = shutil.which(name) or next((f for f in fallbacks if os.access(f, os.X_OK)), None)
    if found is None:
        sys.exit(f"bench: {name} is not installed (Debian: apt-get install {name})")
    return found


class Processes:
    """Child processes, each in its own session; ``stop_all`` ends them all."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self._running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Path:
        log = self.logdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args,
                cwd=self.logdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C reaches us, and we stop them in order
            )
        self._running.append((name, proc))
        return log

    def pid(self, name: str) -> int:
        return next(p.pid for n, p in self._running if n == name)

    def alive(self, name: str) -> bool:
        return any(n == name and p.poll() is None for n, p in self._running)

    def stop(self, name: str) -> None:
        for n, proc in self._running:
            if n == name and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def stop_all(self) -> None:
        for _, proc in reversed(self._running):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in reversed(self._running):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._running.clear()


def wait_http(url: str, procs: Processes, name: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.alive(name):
            sys.exit(f"bench: {name} exited during start-up:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: {name} did not come up at {url}:\n{log.read_text()}")


def _sse_body() -> str:
    """The streamed answer nginx serves: one chunk per token, the usage, [DONE]."""
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000}
    words = [f" w{i}" for i in range(STREAM_CHUNKS)]
    chunks = [
        {**head, "model": "mock-model", "choices": [{"index": 0, "delta": {"content": w}}]}
        for w in words
    ]
    chunks.append(
        {
            **head,
            "model": "mock-model",
            "choices": [],
            "usage": {"prompt_tokens": 14, "completion_tokens": STREAM_CHUNKS, "total_tokens": 34},
        }
    )
    events = "".join(f"data: {json.dumps(c, separators=(',', ':'))}\\n\\n" for c in chunks)
    return events + "data: [DONE]\\n\\n"


def start_nginx(procs: Processes, root: Path) -> str:
    prefix = root / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    text = (HERE / "nginx.conf").read_text().replace("{port}", str(port))
    conf.write_text(text.replace("{sse_body}", _sse_body()))
    nginx = which("nginx", "/usr/sbin/nginx")
    # -e: the error log from the first moment (before the config is read) goes to stderr,
    # not /var/log/nginx, so no root-owned path is touched.
    args = [nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
    log = procs.start("nginx", args)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/", procs, "nginx", log)
    return base


def wait_port(procs: Processes, name: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if not procs.alive(name):
            break
        time.sleep(0.1)
    sys.exit(f"bench: {name} did not start:\n{log.read_text()}")


def start_bare_proxy(procs: Processes, upstream: str) -> str:
    port = free_port()
    args = [sys.executable, str(HERE / "bare_proxy.py"), str(port), upstream]
    log = procs.start("bare", args)
    wait_port(procs, "bare", port, log)  # it answers POST only: wait for the port
    return f"http://127.0.0.1:{port}"


def gateway_config(root: Path, upstream: str, database_url: str | None = None) -> tuple[Path, Path]:
    """The gateway's configuration (a priced model on nginx, and a streamed one) and its
    SQLite file (unused when ``database_url`` names another database)."""
    db = root / "gatewayz.db"
    pricing = {"input_per_million_usd": "0.15", "output_per_million_usd": "0.60"}
    config = {
        "database_url": database_url or f"sqlite:///{db}",
        "log_level": "warning",
        "providers": [
            {"name": "mock", "kind": "openai", "base_url": f"{upstream}/v1"},
            {"name": "mock-sse", "kind": "openai", "base_url": f"{upstream}{STREAM_PREFIX}/v1"},
        ],
        "models": [
            {
                "id": model,
                "hub_model_id": f"bench/{model}",
                "task": "conversational",
                "routes": [{"provider": provider, "model": "mock-model"}],
                "pricing": pricing,
            }
            for model, provider in ((MODEL, "mock"), (STREAM_MODEL, "mock-sse"))
        ],
    }
    path = root / "gatewayz.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path, db


def gatewayz(*args: str) -> list[str]:
    return [sys.executable, "-m", "gatewayz", *args]


def start_gateway(
    procs: Processes,
    config: Path,
    server: str | None = None,
    name: str = "gateway",
    workers: int = 1,
) -> str:
    port = free_port()
    extra = ["--server", server] if server else []
    if workers > 1:
        extra += ["--workers", str(workers)]
    args = gatewayz("serve", "--config", str(config), "--port", str(port), *extra)
    log = procs.start(name, args, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", procs, name, log)
    return base


def create_key(config: Path, cwd: Path, name: str = "bench", *flags: str) -> str:
    out = subprocess.run(
        gatewayz("--config", str(config), "keys", "create", "--name", name, *flags),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int  # non-2xx answers plus socket errors
    cpu_us: float = 0.0  # the server's CPU time per request during the run
    wrk_cpu: float = 0.0  # wrk's own CPU use during the run, in cores


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(text: str) -> WrkResult:
    def percentile(p: str) -> float:
        m = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if m is None:
            raise ValueError(f"no {p}% latency in wrk output:\n{text}")
        return _ms(m[1], m[2])

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    total = re.search(r"^\s*(\d+) requests in", text, re.M)
    if rps is None or total is None:
        raise ValueError(f"unexpected wrk output:\n{text}")
    failed = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", text))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if errors:
        failed += sum(int(n) for n in errors.groups())
    return WrkResult(float(rps[1]), percentile("50"), percentile("99"), int(total[1]), failed)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    url: str, conns: int, duration: float, key: str, body: str = BODY, path: str = CHAT_PATH
) -> WrkResult:
    threads = 1 if conns == 1 else 2
    seconds = max(1, round(duration))
    args = [
        which("wrk", "/usr/bin/wrk"),
        f"-t{threads}",
        f"-c{conns}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(HERE / "post.lua"),
        f"{url}{path}",
    ]
    env = {**os.environ, "BENCH_BODY": body, "BENCH_KEY": key}
    before = _children_cpu()
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=600)
    result = parse_wrk(out.stdout)
    result.wrk_cpu = (_children_cpu() - before) / seconds
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """A process's resident memory (``VmRSS``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")


def children_of(pid: int) -> list[int]:
    """The direct children of ``pid`` (e.g. the worker processes of a supervisor)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def median(results: list[WrkResult], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in results))
