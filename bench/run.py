"""The gateway's throughput and added latency, in one command.

    python bench/run.py [--duration S] [--repeat N] [--server uvicorn|granian]

It starts four things on free 127.0.0.1 ports, all under one temporary directory:
nginx answering every chat completion with a fixed body (an upstream that costs almost
nothing), ``gatewayz serve`` (one worker, SQLite usage ledger, auth and metrics on) in
front of it, a bare Starlette + aiohttp proxy with no features (``bare_proxy.py``) in
front of it too, and ``wrk`` posting a chat completion with a real API key. It measures
1 and 32 connections, straight to nginx, through the bare proxy and through the gateway
(interleaved), and prints a table with the same-run ratios against the bare proxy:
requests/s at 32 connections, p50/p99 at 1 and 32 connections, and the gateway's added
latency. Afterwards it checks that every answered request left a committed usage record
and that ``/metrics`` counted them. Everything it started is stopped on exit, Ctrl-C or
error. With ``--repeat N`` each figure is the median of N runs (the machine may be noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
MODEL = "bench-model"
BODY = json.dumps(
    {
        "model": MODEL,
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 16,
    }
)
TARGET_RPS_32 = 3_000
TARGET_ADDED_P50_1_MS = 0.5


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


def start_nginx(procs: Processes, root: Path) -> str:
    prefix = root / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text((HERE / "nginx.conf").read_text().replace("{port}", str(port)))
    nginx = which("nginx", "/usr/sbin/nginx")
    # -e: the error log from the first moment (before the config is read) goes to stderr,
    # not /var/log/nginx, so no root-owned path is touched.
    args = [nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
    log = procs.start("nginx", args)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/", procs, "nginx", log)
    return base


def start_bare_proxy(procs: Processes, upstream: str) -> str:
    port = free_port()
    args = [sys.executable, str(HERE / "bare_proxy.py"), str(port), upstream]
    log = procs.start("bare", args)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # it answers POST only: wait for the port
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return base
        if not procs.alive("bare"):
            break
        time.sleep(0.1)
    sys.exit(f"bench: the bare proxy did not start:\n{log.read_text()}")


def gateway_config(root: Path, upstream: str) -> tuple[Path, Path]:
    db = root / "gatewayz.db"
    config = {
        "database_url": f"sqlite:///{db}",
        "log_level": "warning",
        "providers": [{"name": "mock", "kind": "openai", "base_url": f"{upstream}/v1"}],
        "models": [
            {
                "id": MODEL,
                "hub_model_id": "bench/mock-model",
                "task": "conversational",
                "routes": [{"provider": "mock", "model": "mock-model"}],
                "pricing": {"input_per_million_usd": "0.15", "output_per_million_usd": "0.60"},
            }
        ],
    }
    path = root / "gatewayz.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path, db


def gatewayz(*args: str) -> list[str]:
    return [sys.executable, "-m", "gatewayz", *args]


def start_gateway(procs: Processes, config: Path, server: str | None) -> str:
    port = free_port()
    extra = ["--server", server] if server else []
    args = gatewayz("serve", "--config", str(config), "--port", str(port), *extra)
    log = procs.start("gateway", args, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", procs, "gateway", log)
    return base


def create_key(config: Path, cwd: Path) -> str:
    out = subprocess.run(
        gatewayz("--config", str(config), "keys", "create", "--name", "bench"),
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
    cpu_us: float = 0.0  # the gateway's CPU time per request during the run


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


def run_wrk(url: str, conns: int, duration: float, key: str) -> WrkResult:
    threads = 1 if conns == 1 else 2
    args = [
        which("wrk", "/usr/bin/wrk"),
        f"-t{threads}",
        f"-c{conns}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "-s",
        str(HERE / "post.lua"),
        f"{url}/v1/chat/completions",
    ]
    env = {**os.environ, "BENCH_BODY": BODY, "BENCH_KEY": key}
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=600)
    return parse_wrk(out.stdout)


def usage_rows(db: Path) -> tuple[int, int]:
    """(all usage records, records with status 200), read from the gateway's database."""
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        total, ok = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(status = 200), 0) FROM usage_records"
        ).fetchone()
    return int(total), int(ok)


def metrics_count(gateway: str) -> float:
    with urllib.request.urlopen(f"{gateway}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    pattern = (
        r'^gatewayz_requests_total\{model="' + MODEL + r'",route="chat_completions",'
        r'status="200"\}\s+([\d.e+]+)$'
    )
    m = re.search(pattern, text, re.M)
    return float(m[1]) if m else 0.0


@dataclass
class Checks:
    """Proof that usage records and metrics were on while the gateway was measured."""

    answered: int = 0  # 2xx answers wrk counted through the gateway
    cut_off: int = 0  # requests possibly still in flight when a wrk run ended


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(results: list[WrkResult], field: str) -> float:
    return float(statistics.median(getattr(r, field) for r in results))


def measure(
    targets: dict[str, str],
    key: str,
    duration: float,
    repeat: int,
    checks: Checks,
    gateway_pid: int,
) -> dict[tuple[str, int], list[WrkResult]]:
    results: dict[tuple[str, int], list[WrkResult]] = {}
    for name, url in targets.items():  # warm up: connection pools, caches
        warm = run_wrk(url, 32, 2, key)
        if name == "gateway":
            checks.answered += warm.requests - warm.failed
            checks.cut_off += 32
    for _ in range(repeat):
        for conns in (1, 32):
            for name, url in targets.items():  # interleaved, so drift hits both alike
                cpu_before = cpu_seconds(gateway_pid)
                result = run_wrk(url, conns, duration, key)
                if name == "gateway" and result.requests:
                    used = cpu_seconds(gateway_pid) - cpu_before
                    result.cpu_us = used / result.requests * 1e6
                results.setdefault((name, conns), []).append(result)
                if result.failed:
                    print(f"  ! {name} @{conns}: {result.failed} failed requests", flush=True)
                if name == "gateway":
                    checks.answered += result.requests - result.failed
                    checks.cut_off += conns
                cpu = f"  cpu {result.cpu_us:5.0f} us/req" if name == "gateway" else ""
                print(
                    f"  {name:<8} {conns:>2} conn  {result.rps:>9,.0f} req/s  "
                    f"p50 {result.p50_ms:6.3f} ms  p99 {result.p99_ms:6.3f} ms{cpu}",
                    flush=True,
                )
    return results


def report(results: dict[tuple[str, int], list[WrkResult]]) -> bool:
    def fig(name: str, conns: int, field: str) -> float:
        return median(results[(name, conns)], field)

    rows = [
        ("requests/s @32 conns", 32, "rps", "{:,.0f}"),
        ("p50 @1 conn (ms)", 1, "p50_ms", "{:.3f}"),
        ("p99 @1 conn (ms)", 1, "p99_ms", "{:.3f}"),
        ("p50 @32 conns (ms)", 32, "p50_ms", "{:.3f}"),
        ("p99 @32 conns (ms)", 32, "p99_ms", "{:.3f}"),
    ]
    heads = ("nginx", "bare proxy", "gateway", "bare added", "gw added")
    print(f"\n{'':<24}" + "".join(f"{h:>12}" for h in heads))
    for label, conns, field, form in rows:
        direct, bare, via = (fig(n, conns, field) for n in ("direct", "bare", "gateway"))
        cells = [form.format(direct), form.format(bare), form.format(via)]
        if field != "rps":
            cells += [f"{bare - direct:+.3f}", f"{via - direct:+.3f}"]
        print(f"{label:<24}" + "".join(f"{c:>12}" for c in cells))
    bare_rps = fig("bare", 32, "rps")
    bare_p50 = fig("bare", 1, "p50_ms") - fig("direct", 1, "p50_ms")
    bare_p99 = fig("bare", 1, "p99_ms") - fig("direct", 1, "p99_ms")
    gw_p99 = fig("gateway", 1, "p99_ms") - fig("direct", 1, "p99_ms")
    rps = fig("gateway", 32, "rps")
    added_p50 = fig("gateway", 1, "p50_ms") - fig("direct", 1, "p50_ms")
    added_p50_32 = fig("gateway", 32, "p50_ms") - fig("direct", 32, "p50_ms")
    print(f"\ngateway added p50: {added_p50:.3f} ms @1 conn, {added_p50_32:.3f} ms @32 conns")
    print(
        f"same-run ratios, gateway / bare proxy: requests/s @32 conns {rps / bare_rps:.2f}x; "
        f"added p50 @1 conn {added_p50:.3f} vs {bare_p50:.3f} ms; "
        f"added p99 @1 conn {gw_p99:.3f} vs {bare_p99:.3f} ms"
    )
    cpu_us = fig("gateway", 32, "cpu_us")
    print(
        f"gateway CPU per request @32 conns: {cpu_us:.0f} us "
        f"(one worker on an idle core: ~{1e6 / cpu_us:,.0f} req/s)"
    )
    ok_rps, ok_lat = rps >= TARGET_RPS_32, added_p50 <= TARGET_ADDED_P50_1_MS
    print(f"target >= {TARGET_RPS_32:,} req/s @32 conns: {'met' if ok_rps else 'MISSED'}")
    print(
        f"target <= {TARGET_ADDED_P50_1_MS} ms added p50 @1 conn: {'met' if ok_lat else 'MISSED'}"
    )
    return ok_rps and ok_lat


def verify(db: Path, before: tuple[int, int], gateway: str, checks: Checks) -> bool:
    time.sleep(0.5)  # requests wrk cut off may still be finishing (and are recorded too)
    total, ok = usage_rows(db)
    grew, grew_ok = total - before[0], ok - before[1]
    counted = metrics_count(gateway)
    fine = checks.answered <= grew_ok <= checks.answered + checks.cut_off and grew == grew_ok
    print(
        f"\nusage records: +{grew_ok:,} committed rows with status 200 for {checks.answered:,} "
        f"answers counted by wrk (+ up to {checks.cut_off} cut off at the end of runs): "
        f"{'ok' if fine else 'MISMATCH'}"
    )
    print(f"metrics: gatewayz_requests_total{{status=200}} = {counted:,.0f}")
    return fine and counted >= checks.answered


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    cli.add_argument("--repeat", type=int, default=1, help="runs per figure (median)")
    cli.add_argument("--server", choices=("uvicorn", "granian"), help="the gateway's ASGI server")
    cli.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = cli.parse_args()

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):  # even where the shell ignored SIGINT
        signal.signal(signum, interrupted)
    root = Path(tempfile.mkdtemp(prefix="gatewayz-bench-"))
    procs = Processes(root)
    try:
        upstream = start_nginx(procs, root)
        config, db = gateway_config(root, upstream)
        gateway = start_gateway(procs, config, args.server)
        bare = start_bare_proxy(procs, upstream)
        key = create_key(config, root)
        print(f"mock upstream {upstream}, gateway {gateway} ({args.server or 'default'} server)")
        before = usage_rows(db)
        checks = Checks()
        targets = {"direct": upstream, "bare": bare, "gateway": gateway}
        results = measure(targets, key, args.duration, args.repeat, checks, procs.pid("gateway"))
        met = report(results)
        recorded = verify(db, before, gateway, checks)
        return 0 if met and recorded else 1
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        if args.keep:
            print(f"logs and database kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
