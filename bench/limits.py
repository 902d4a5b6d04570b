"""What rate limits cost: the same gateway with limits off, in memory, and in Redis.

    python bench/limits.py [--duration S] [--repeat N]

Like ``run.py`` (nginx as a static upstream, ``gatewayz serve`` with one worker on
SQLite, wrk), three times: with no limits; with a key whose requests, tokens and
concurrency are all limited (limits high enough that nothing is refused, so every
request pays for a full decision and its release) counted in memory; and the same
counted in a private ``redis-server`` on a free port. Prints requests/s at 32
connections, the gateway's CPU per request and p50 at 1 connection, side by side; the
three gateways run at once and are measured in turn (interleaved), so that whatever else
the machine does hits each alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import (
    MODEL,
    Processes,
    WrkResult,
    create_key,
    free_port,
    gateway_config,
    gatewayz,
    median,
    run_wrk,
    start_nginx,
    wait_http,
    which,
)

LIMIT_FLAGS = ("--rpm", "100000000", "--tpm", "100000000000", "--max-concurrency", "100000")


def start_redis(procs: Processes) -> str:
    port = free_port()
    redis = which("redis-server")
    procs.start("redis", [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", ""])
    deadline = time.monotonic() + 10
    while (
        subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
        ).stdout.strip()
        != "PONG"
    ):
        if time.monotonic() > deadline:
            sys.exit("bench: redis-server did not start")
        time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0"


def limited_key(config: Path, cwd: Path) -> str:
    out = subprocess.run(
        gatewayz("--config", str(config), "keys", "create", "--name", "limited", *LIMIT_FLAGS),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _start_gateway(procs: Processes, config: Path, name: str) -> str:
    port = free_port()
    args = gatewayz("serve", "--config", str(config), "--port", str(port))
    log = procs.start(name, args, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", procs, name, log)
    return base


def start_setup(
    procs: Processes, root: Path, upstream: str, name: str, redis_url: str | None
) -> tuple[str, str, int]:
    """One gateway (one worker) of the setup ``name``: (its URL, its key, its pid)."""
    workdir = root / name
    workdir.mkdir()
    config, _ = gateway_config(workdir, upstream)
    if redis_url is not None:
        raw = json.loads(config.read_text())
        config.write_text(json.dumps({**raw, "redis_url": redis_url}))
    gateway = _start_gateway(procs, config, f"gateway-{name}")
    key = create_key(config, workdir) if name == "off" else limited_key(config, workdir)
    run_wrk(gateway, 32, 2, key)  # warm up
    return gateway, key, procs.pid(f"gateway-{name}")


def measure(
    targets: dict[str, tuple[str, str, int]],
    duration: float,
    repeat: int,
    redis_pid: int,
    server_us: list[float],
) -> dict[str, dict[int, list[WrkResult]]]:
    """Interleaved, so that whatever else the machine does hits every setup alike. The
    Redis server's CPU per request at 32 connections goes to ``server_us``."""
    results: dict[str, dict[int, list[WrkResult]]] = {n: {1: [], 32: []} for n in targets}
    for _ in range(repeat):
        for conns in (1, 32):
            for name, (url, key, pid) in targets.items():
                before, server_before = _cpu(pid), _cpu(redis_pid)
                result = run_wrk(url, conns, duration, key)
                result.cpu_us = (_cpu(pid) - before) / max(result.requests, 1) * 1e6
                if name == "redis" and conns == 32:
                    server = _cpu(redis_pid) - server_before
                    server_us.append(server / max(result.requests, 1) * 1e6)
                if result.failed:
                    print(f"  ! {name} @{conns}: {result.failed} failed requests", flush=True)
                print(
                    f"  {name:<7} {conns:>2} conn  {result.rps:>8,.0f} req/s  "
                    f"p50 {result.p50_ms:.3f} ms  cpu {result.cpu_us:.0f} us/req",
                    flush=True,
                )
                results[name][conns].append(result)
    return results


def _commands(redis_url: str) -> tuple[int, int]:
    """From Redis's ``INFO commandstats``: the commands its scripts ran, and the
    microseconds it spent in script calls (``EVALSHA``, counting those commands)."""
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    out = subprocess.run(
        ["redis-cli", "-p", port, "INFO", "commandstats"], capture_output=True, text=True
    ).stdout
    commands = script_us = 0
    for line in out.splitlines():
        if not line.startswith("cmdstat_"):
            continue
        name, _, rest = line[len("cmdstat_") :].partition(":")
        stats = dict(item.split("=", 1) for item in rest.split(","))
        if name == "evalsha":
            script_us += int(stats["usec"])
        elif name not in ("info", "script|load", "ping"):
            commands += int(stats["calls"])
    return commands, script_us


def _cpu(pid: int) -> float:
    from run import cpu_seconds

    return cpu_seconds(pid)


def limiter_alone(
    redis_url: str, redis_pid: int, requests: int = 9_600, clients: int = 32
) -> dict[str, float]:
    """CPU microseconds per request of the limiter itself (admit, then release with a
    corrected token count), in this process, without HTTP, and of the Redis server
    answering it: figures the machine's other load moves far less."""
    import asyncio

    from gatewayz.config import LimitSettings
    from gatewayz.money import Usage
    from gatewayz.services.bounds import Bound
    from gatewayz.services.context import RequestContext
    from gatewayz.services.keys import KeyLimits, Principal
    from gatewayz.services.limits import LimitBackend, RateLimiter
    from gatewayz.services.limits_memory import MemoryLimits
    from gatewayz.services.limits_redis import RedisLimits
    from gatewayz.services.metrics import Metrics

    limits = KeyLimits(*(int(v) for v in LIMIT_FLAGS[1::2]))
    principal = Principal(1, "bench", False, False, False, limits)
    bound = Bound(Usage(input_tokens=120, output_tokens=16))

    async def prefix() -> str:
        return "gatewayz:bench"

    server: list[float] = []
    counts: dict[str, tuple[float, float]] = {}

    async def run(backend: LimitBackend, tag: str) -> float:
        limiter = RateLimiter(LimitSettings(), backend, Metrics())
        await limiter.start()

        async def client(n: int) -> None:
            for i in range(requests // clients):
                ctx = RequestContext(f"{tag}-{n}-{i}", "chat_completions", principal)
                lease = await limiter.admit(ctx, MODEL, bound)
                assert lease is not None
                await limiter.release(lease, 30)

        await asyncio.gather(*(client(n) for n in range(clients)))  # warm up
        started, server_started = time.process_time(), _cpu(redis_pid)
        commands, script_us = _commands(redis_url)
        await asyncio.gather(*(client(n) for n in range(clients)))
        used = time.process_time() - started
        server.append((_cpu(redis_pid) - server_started) / requests * 1e6)
        commands_after, script_us_after = _commands(redis_url)
        counts[tag] = (
            (commands_after - commands) / requests,
            (script_us_after - script_us) / requests,
        )
        await limiter.close()
        return used / requests * 1e6

    memory = asyncio.run(run(MemoryLimits(), "m"))
    redis = asyncio.run(run(RedisLimits(redis_url, prefix, timeout_s=1, lease_s=30), "r"))
    return {
        "memory": memory,
        "redis": redis,
        "redis_server": server[-1],
        "redis_commands": counts["r"][0],
        "redis_script_us": counts["r"][1],
    }


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--duration", type=float, default=8, help="seconds per wrk run")
    cli.add_argument("--repeat", type=int, default=1, help="runs per figure (median)")
    args = cli.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gatewayz-bench-limits-"))
    procs = Processes(root)
    try:
        upstream = start_nginx(procs, root)
        redis_url = start_redis(procs)
        alone = limiter_alone(redis_url, procs.pid("redis"))
        setups = {"off": None, "memory": None, "redis": redis_url}
        targets = {n: start_setup(procs, root, upstream, n, u) for n, u in setups.items()}
        server_us: list[float] = []
        figures = measure(targets, args.duration, args.repeat, procs.pid("redis"), server_us)
    except KeyboardInterrupt:
        return 130
    finally:
        procs.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    off = median(figures["off"][32], "rps")
    print(f"\n{'':<26}{'limits off':>12}{'in memory':>12}{'redis':>12}")
    rows = [
        ("requests/s @32 conns", 32, "rps", "{:,.0f}"),
        ("CPU us/request @32 conns", 32, "cpu_us", "{:.0f}"),
        ("p50 @1 conn (ms)", 1, "p50_ms", "{:.3f}"),
    ]
    for label, conns, field, form in rows:
        cells = [form.format(median(figures[n][conns], field)) for n in setups]
        print(f"{label:<26}" + "".join(f"{c:>12}" for c in cells))
    print(
        f"\nthe limiter alone (admit + release, 32 clients, no HTTP): "
        f"{alone['memory']:.0f} us of CPU per request in memory, {alone['redis']:.0f} us with "
        f"Redis, plus {alone['redis_server']:.0f} us in the Redis server (on the same cores): "
        f"{alone['redis_commands']:.1f} commands run by its scripts and "
        f"{alone['redis_script_us']:.0f} us in script calls per request (INFO commandstats)"
    )
    server = sorted(server_us)[len(server_us) // 2]
    print(f"the Redis server's own CPU per request @32 conns: {server:.0f} us")
    for name in ("memory", "redis"):
        loss = 1 - median(figures[name][32], "rps") / off
        print(f"requests/s lost with limits {name}: {loss:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
