"""What rate limits cost: the same gateway serving a key without limits and a limited one,
with the limits counted in memory, and again in Redis.

    python bench/limits.py [--duration S] [--repeat N]

Like ``run.py`` (nginx as a static upstream, ``gatewayz serve`` with one worker on
SQLite, wrk), twice: a gateway counting limits in memory, and one counting them in a
private ``redis-server`` on a free port. Each has two keys: one without limits, and one
whose requests, tokens and concurrency are all limited (limits high enough that nothing
is refused, so every request pays for a full decision and its release).

The two keys of a gateway are compared on that one process, in short wrk slices ordered
``off limited limited off`` in each round: this machine's speed drifts by 2-3x over
minutes (its other tenants), and a comparison of two processes measured minutes apart,
or of two slices far apart in time, mostly measures that drift. Prints, per gateway, the
median over rounds of the limited key's requests/s over the unlimited key's at 32
connections (with every round's ratio), the CPU per request and the p50 at 1 connection
each key cost, then the limiter's own CPU without HTTP and the Redis server's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from run import (
    LIMIT_FLAGS,
    MODEL,
    Processes,
    WrkResult,
    cpu_seconds,
    create_key,
    free_port,
    gateway_config,
    run_wrk,
    start_gateway,
    start_nginx,
    which,
)


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


@dataclass
class Setup:
    """One gateway (one worker) and its two keys: one without limits, one limited."""

    name: str
    url: str
    pid: int
    keys: dict[str, str]  # "off", "limited"


def start_setup(
    procs: Processes, root: Path, upstream: str, name: str, redis_url: str | None
) -> Setup:
    workdir = root / name
    workdir.mkdir()
    config, _ = gateway_config(workdir, upstream)
    if redis_url is not None:
        raw = json.loads(config.read_text())
        config.write_text(json.dumps({**raw, "redis_url": redis_url}))
    url = start_gateway(procs, config, name=f"gateway-{name}")
    limited = create_key(config, workdir, "limited", *LIMIT_FLAGS)
    keys = {"off": create_key(config, workdir), "limited": limited}
    for key in keys.values():
        run_wrk(url, 32, 2, key)  # warm up
    return Setup(name, url, procs.pid(f"gateway-{name}"), keys)


@dataclass
class Pairs:
    """A setup's figures: per round, the unlimited and the limited key's results (each
    the sum of two slices, ``off limited limited off``)."""

    off: dict[int, list[WrkResult]] = field(default_factory=lambda: {1: [], 32: []})
    limited: dict[int, list[WrkResult]] = field(default_factory=lambda: {1: [], 32: []})

    def ratios(self, conns: int, figure: str) -> list[float]:
        return [
            getattr(lim, figure) / getattr(off, figure)
            for off, lim in zip(self.off[conns], self.limited[conns], strict=True)
        ]

    def differences(self, conns: int, figure: str) -> list[float]:
        return [
            getattr(lim, figure) - getattr(off, figure)
            for off, lim in zip(self.off[conns], self.limited[conns], strict=True)
        ]


def _slice(setup: Setup, key: str, conns: int, duration: float) -> WrkResult:
    before = cpu_seconds(setup.pid)
    result = run_wrk(setup.url, conns, duration, setup.keys[key])
    result.cpu_us = (cpu_seconds(setup.pid) - before) / max(result.requests, 1) * 1e6
    if result.failed:
        print(f"  ! {setup.name} {key} @{conns}: {result.failed} failed requests", flush=True)
    return result


def _joined(a: WrkResult, b: WrkResult) -> WrkResult:
    """Two slices as one: requests/s and CPU per request over both, the mean p50."""
    requests = a.requests + b.requests
    cpu = (a.cpu_us * a.requests + b.cpu_us * b.requests) / max(requests, 1)
    return WrkResult(
        (a.rps + b.rps) / 2,
        (a.p50_ms + b.p50_ms) / 2,
        max(a.p99_ms, b.p99_ms),
        requests,
        a.failed + b.failed,
        cpu,
    )


def measure(
    setups: list[Setup], duration: float, rounds: int, redis_pid: int, server_us: list[float]
) -> dict[str, Pairs]:
    """Each setup's unlimited and limited key on the same gateway process, in slices of
    ``duration`` seconds ordered ``off limited limited off`` (a drift of the machine's
    speed during a round hits both keys alike), the setups in turn. The Redis server's
    CPU per limited request at 32 connections goes to ``server_us``."""
    pairs = {s.name: Pairs() for s in setups}
    for n in range(rounds):
        for conns in (32, 1):
            for setup in setups:
                slices: dict[str, list[WrkResult]] = {"off": [], "limited": []}
                for key in ("off", "limited", "limited", "off"):
                    server_before = cpu_seconds(redis_pid)
                    result = _slice(setup, key, conns, duration)
                    if setup.name == "redis" and key == "limited" and conns == 32:
                        used = cpu_seconds(redis_pid) - server_before
                        server_us.append(used / max(result.requests, 1) * 1e6)
                    slices[key].append(result)
                off, lim = (_joined(*slices[k]) for k in ("off", "limited"))
                pairs[setup.name].off[conns].append(off)
                pairs[setup.name].limited[conns].append(lim)
                print(
                    f"  round {n + 1} {setup.name:<7}{conns:>3} conn  off {off.rps:>7,.0f} req/s "
                    f"p50 {off.p50_ms:.3f} ms {off.cpu_us:4.0f} us  limited {lim.rps:>7,.0f} req/s "
                    f"p50 {lim.p50_ms:.3f} ms {lim.cpu_us:4.0f} us  ratio {lim.rps / off.rps:.3f}",
                    flush=True,
                )
    return pairs


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
        started, server_started = time.process_time(), cpu_seconds(redis_pid)
        commands, script_us = _commands(redis_url)
        await asyncio.gather(*(client(n) for n in range(clients)))
        used = time.process_time() - started
        server.append((cpu_seconds(redis_pid) - server_started) / requests * 1e6)
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


def report(pairs: dict[str, Pairs]) -> None:
    heads = ("limits off", "in memory", "limits off", "redis")
    print("\nmedians over rounds" + " " * 14 + "".join(f"{h:>12}" for h in heads))
    rows = [
        ("requests/s @32 conns", 32, "rps", "{:,.0f}"),
        ("CPU us/request @32 conns", 32, "cpu_us", "{:.0f}"),
        ("p50 @1 conn (ms)", 1, "p50_ms", "{:.3f}"),
    ]
    for label, conns, figure, form in rows:
        cells = [
            form.format(median([getattr(r, figure) for r in getattr(pairs[name], key)[conns]]))
            for name in ("memory", "redis")
            for key in ("off", "limited")
        ]
        print(f"{label:<33}" + "".join(f"{c:>12}" for c in cells))
    for name in ("memory", "redis"):
        ratios = pairs[name].ratios(32, "rps")
        spread = ", ".join(f"{r:.3f}" for r in sorted(ratios))
        print(
            f"requests/s lost with limits in {name}: {1 - median(ratios):.1%} (median of the "
            f"rounds' limited/off ratios on one gateway: {spread})"
        )
        p50, cpu = pairs[name].differences(1, "p50_ms"), pairs[name].differences(32, "cpu_us")
        print(
            f"  CPU per request added by the limits @32 conns: {median(cpu):+.0f} us; "
            f"p50 added @1 conn: {median(p50) * 1000:+.0f} us"
        )


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--duration", type=float, default=2, help="seconds per wrk slice")
    cli.add_argument("--repeat", type=int, default=8, help="rounds (figures are medians)")
    args = cli.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gatewayz-bench-limits-"))
    procs = Processes(root)
    try:
        upstream = start_nginx(procs, root)
        redis_url = start_redis(procs)
        alone = limiter_alone(redis_url, procs.pid("redis"))
        setups = [
            start_setup(procs, root, upstream, name, url)
            for name, url in (("memory", None), ("redis", redis_url))
        ]
        server_us: list[float] = []
        pairs = measure(setups, args.duration, args.repeat, procs.pid("redis"), server_us)
    except KeyboardInterrupt:
        return 130
    finally:
        procs.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    report(pairs)
    print(
        f"\nthe limiter alone (admit + release, 32 clients, no HTTP): "
        f"{alone['memory']:.0f} us of CPU per request in memory, {alone['redis']:.0f} us with "
        f"Redis, plus {alone['redis_server']:.0f} us in the Redis server (on the same cores): "
        f"{alone['redis_commands']:.1f} commands run by its scripts and "
        f"{alone['redis_script_us']:.0f} us in script calls per request (INFO commandstats)"
    )
    print(f"the Redis server's own CPU per limited request @32 conns: {median(server_us):.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
