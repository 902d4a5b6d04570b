"""The gateway against a bare proxy, every figure a ratio from the same run.

    python bench/run.py [--duration S] [--repeat N] [--backend sqlite,postgresql]
                        [--server uvicorn|granian] [--soak MINUTES] [--keep]

It starts, on free 127.0.0.1 ports under one temporary directory: nginx answering every
chat completion with a fixed body (an upstream that costs almost nothing) and, under
``/stream``, with a fixed stream of chunks; the bare Starlette + aiohttp proxy
(``bare_proxy.py``) in front of it; one ``gatewayz serve`` per backend (one worker; auth,
usage records and metrics on; PostgreSQL in a fresh database on 127.0.0.1:5432, dropped
afterwards), each with a key without limits and a key whose rate limits are counted in
memory; and one SQLite gateway with ``--workers 2``. wrk posts chat completions at 1 and 32
connections, straight to nginx, through the bare proxy and through each gateway,
interleaved; the streamed times at one connection come from ``sse_client.py``.

It prints the table, the ratios against the bare proxy (and nginx), each goal met or
missed, the gateway's resident memory idle and after the load, and checks that every 2xx
answer left a committed usage row and was counted by ``/metrics``. ``--soak M`` then keeps
32 connections on the SQLite gateway for M minutes and prints its memory each minute.
Everything it started is stopped on exit, Ctrl-C, SIGTERM or error. Exit status 0 means
every goal was met and the records matched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from harness import (
    BODY,
    CHAT_PATH,
    MODEL,
    STREAM_BODY,
    STREAM_CHUNKS,
    STREAM_PREFIX,
    Processes,
    WrkResult,
    children_of,
    cpu_seconds,
    create_key,
    free_port,
    gateway_config,
    gatewayz,
    median,
    rss_mb,
    run_wrk,
    start_bare_proxy,
    start_gateway,
    start_nginx,
    wait_http,
    which,
)
from sse_client import StreamTimes, measure_stream

# Re-exported for the other benchmarks (limits.py).
__all__ = [
    "MODEL",
    "Processes",
    "WrkResult",
    "cpu_seconds",
    "create_key",
    "free_port",
    "gateway_config",
    "gatewayz",
    "median",
    "run_wrk",
    "start_nginx",
    "wait_http",
    "which",
]

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# Rate limits high enough that nothing is refused: every request pays for a full decision.
LIMIT_FLAGS = ("--rpm", "100000000", "--tpm", "100000000000", "--max-concurrency", "100000")
IDLE_RSS_LIMIT_MB = 120
SOAK_SLICE_S = 60
SOAK_FLAT_MB = 5.0


@dataclass
class Gateway:
    """One ``gatewayz serve`` under test and what proves its features were on."""

    name: str
    url: str
    pid: int
    database_url: str
    db: Path
    keys: dict[str, str]  # "off": no limits; "mem": limits counted in memory
    workers: int = 1
    answered: int = 0  # 2xx answers counted by the clients
    cut_off: int = 0  # requests possibly in flight when a run ended
    before: tuple[int, int] = (0, 0)

    def cpu(self) -> float:
        pids = [self.pid, *children_of(self.pid)] if self.workers > 1 else [self.pid]
        return sum(cpu_seconds(p) for p in pids)


@dataclass
class Target:
    """Something wrk posts to: nginx, the bare proxy, or a gateway with one of its keys."""

    name: str
    url: str
    key: str = "unused"
    gateway: Gateway | None = None
    path: str = CHAT_PATH
    stream_path: str = STREAM_PREFIX + CHAT_PATH
    stream_body: str = STREAM_BODY


@dataclass
class Results:
    wrk: dict[tuple[str, int], list[WrkResult]] = field(default_factory=dict)
    streamed: dict[str, list[WrkResult]] = field(default_factory=dict)
    sse: dict[str, list[StreamTimes]] = field(default_factory=dict)

    def fig(self, name: str, conns: int, what: str) -> float:
        return median(self.wrk[(name, conns)], what)


def rows_of(gw: Gateway) -> tuple[int, int]:
    """(all usage records, records with status 200) in the gateway's database."""
    sql = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 200 THEN 1 ELSE 0 END), 0) "
    sql += "FROM usage_records"
    if gw.database_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(gw.db, timeout=10)) as conn:
            total, ok = conn.execute(sql).fetchone()
        return int(total), int(ok)

    async def count() -> tuple[int, int]:
        import asyncpg

        conn = await asyncpg.connect(gw.database_url)
        try:
            row = await conn.fetchrow(sql)
        finally:
            await conn.close()
        assert row is not None
        return int(row[0]), int(row[1])

    return asyncio.run(count())


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str | None]:
    """A fresh database for one gateway: None (its SQLite file) or a PostgreSQL URL."""
    if backend == "sqlite":
        yield None
        return
    name = f"gatewayz_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f"CREATE DATABASE {name}"))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(_pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def start(
    procs: Processes,
    root: Path,
    upstream: str,
    name: str,
    database_url: str | None,
    server: str | None,
    workers: int = 1,
) -> Gateway:
    workdir = root / name
    workdir.mkdir()
    config, db = gateway_config(workdir, upstream, database_url)
    url = start_gateway(procs, config, server, name=name, workers=workers)
    keys = {"off": create_key(config, workdir)}
    if workers == 1 and database_url is None:  # in-memory limits: one process on SQLite
        keys["mem"] = create_key(config, workdir, "limited", *LIMIT_FLAGS)
    gw = Gateway(name, url, procs.pid(name), database_url or f"sqlite:///{db}", db, keys, workers)
    gw.before = rows_of(gw)
    return gw


def run_target(target: Target, conns: int, duration: float, streamed: bool) -> WrkResult:
    gw = target.gateway
    cpu_before = gw.cpu() if gw else 0.0
    if streamed:
        path = target.path if gw else target.stream_path
        result = run_wrk(target.url, conns, duration, target.key, target.stream_body, path)
    else:
        result = run_wrk(target.url, conns, duration, target.key, BODY, target.path)
    if gw is not None:
        result.cpu_us = (gw.cpu() - cpu_before) / max(result.requests, 1) * 1e6
        gw.answered += result.requests - result.failed
        gw.cut_off += conns
    if result.failed:
        print(f"  ! {target.name} @{conns}: {result.failed} failed requests", flush=True)
    kind = "streamed " if streamed else ""
    cpu = f"  cpu {result.cpu_us:4.0f} us/req" if gw else ""
    print(
        f"  {kind + target.name:<22} {conns:>2} conn {result.rps:>9,.0f} req/s  "
        f"p50 {result.p50_ms:7.3f} ms  p99 {result.p99_ms:7.3f} ms{cpu}  "
        f"wrk {result.wrk_cpu:.2f} cores",
        flush=True,
    )
    return result


def run_sse(target: Target, duration: float) -> StreamTimes:
    path = target.path if target.gateway else target.stream_path
    times = measure_stream(target.url, path, target.stream_body, target.key, duration)
    if target.gateway is not None:
        target.gateway.answered += times.streams
        target.gateway.cut_off += 1
    print(
        f"  streamed {target.name:<13}  1 conn  TTFT p50 {times.ttft_p50_ms:6.3f} ms  "
        f"p99 {times.ttft_p99_ms:6.3f} ms  whole {times.total_p50_ms:6.3f} ms  "
        f"first->last byte {times.span_p50_ms:6.3f} ms",
        flush=True,
    )
    return times


def measure(
    targets: list[Target], workers2: Target | None, duration: float, repeat: int
) -> Results:
    res = Results()
    plain = [t for t in targets if not t.name.endswith("+limits")]
    for t in [*targets, *([workers2] if workers2 else [])]:  # warm up: pools, caches
        warm = run_wrk(t.url, 32, 2, t.key, BODY, t.path)
        if t.gateway:
            t.gateway.answered += warm.requests - warm.failed
            t.gateway.cut_off += 32
    for _ in range(repeat):
        for conns in (1, 32):
            for t in targets:  # interleaved, so drift hits all alike
                res.wrk.setdefault((t.name, conns), []).append(
                    run_target(t, conns, duration, False)
                )
            if conns == 32 and workers2 is not None:
                one = next(t for t in targets if t.gateway and t.gateway.workers == 1)
                res.wrk.setdefault((workers2.name, 32), []).append(
                    run_target(workers2, 32, duration, False)
                )
                res.wrk.setdefault((one.name + " (again)", 32), []).append(
                    run_target(one, 32, duration, False)
                )
        for t in plain:
            res.streamed.setdefault(t.name, []).append(run_target(t, 32, duration, True))
        for t in plain:
            res.sse.setdefault(t.name, []).append(run_sse(t, duration))
    return res


def _med(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def sse_fig(res: Results, name: str, what: str) -> float:
    return _med([getattr(s, what) for s in res.sse[name]])


def _rounds(res: Results, name: str) -> str:
    """Each round's ratios to the bare proxy, measured minutes apart from the other rounds'
    but seconds apart from each other: how far the machine's drift moves them."""
    rps = [
        g.rps / b.rps for g, b in zip(res.wrk[(name, 32)], res.wrk[("bare proxy", 32)], strict=True)
    ]
    p50 = [
        (g.p50_ms - n.p50_ms) / (b.p50_ms - n.p50_ms)
        for g, b, n in zip(
            res.wrk[(name, 1)], res.wrk[("bare proxy", 1)], res.wrk[("nginx", 1)], strict=True
        )
    ]
    return (
        f"per round: requests/s {', '.join(f'{r:.2f}x' for r in rps)}; "
        f"added p50 {', '.join(f'{r:.2f}x' for r in p50)}"
    )


def report(res: Results, targets: list[Target], workers2: Target | None) -> list[tuple[str, bool]]:
    """Prints the tables and ratios; returns each goal with whether it was met."""
    names = [t.name for t in targets]
    gws = [t for t in targets if t.gateway]
    print("\nnot streamed (medians)" + "".join(f"{n:>16}" for n in names))
    for label, conns, what, form in (
        ("requests/s @32 conns", 32, "rps", "{:,.0f}"),
        ("p50 @1 conn (ms)", 1, "p50_ms", "{:.3f}"),
        ("p99 @1 conn (ms)", 1, "p99_ms", "{:.3f}"),
        ("p50 @32 conns (ms)", 32, "p50_ms", "{:.3f}"),
        ("p99 @32 conns (ms)", 32, "p99_ms", "{:.3f}"),
        ("CPU us/req @32 conns", 32, "cpu_us", "{:.0f}"),
    ):
        cells = [form.format(res.fig(n, conns, what)) for n in names]
        print(f"{label:<22}" + "".join(f"{c:>16}" for c in cells))

    def added(name: str, what: str) -> float:
        return res.fig(name, 1, what) - res.fig("nginx", 1, what)

    bare_rps, nginx_rps = res.fig("bare proxy", 32, "rps"), res.fig("nginx", 32, "rps")
    bare_p50, bare_p99 = added("bare proxy", "p50_ms"), added("bare proxy", "p99_ms")
    print(
        f"\nbare proxy: {bare_rps / nginx_rps:.3f}x nginx's requests/s @32 conns; "
        f"added @1 conn p50 {bare_p50:+.3f} ms, p99 {bare_p99:+.3f} ms"
    )
    goals: list[tuple[str, bool]] = []
    print("same-run ratios (gateway / bare proxy; / nginx):")
    for t in gws:
        rps = res.fig(t.name, 32, "rps")
        p50, p99 = added(t.name, "p50_ms"), added(t.name, "p99_ms")
        print(
            f"  {t.name:<18} requests/s @32 conns {rps / bare_rps:.2f}x ({rps / nginx_rps:.3f}x "
            f"nginx); added @1 conn p50 {p50:+.3f} ms ({p50 / bare_p50:.2f}x the bare proxy's), "
            f"p99 {p99:+.3f} ms ({p99 - bare_p99:+.3f} ms vs the bare proxy's)"
        )
        print(f"{'':<21}{_rounds(res, t.name)}")
        goals.append((f"{t.name}: requests/s @32 conns >= the bare proxy's", rps >= bare_rps))
        goals.append((f"{t.name}: added p50 @1 conn <= the bare proxy's", p50 <= bare_p50))
        goals.append(
            (f"{t.name}: added p99 @1 conn <= the bare proxy's + 2 ms", p99 <= bare_p99 + 2)
        )
    pg = [t for t in gws if t.gateway and not t.gateway.database_url.startswith("sqlite")]
    for t in pg:
        p50 = added(t.name, "p50_ms")
        goals.append((f"{t.name}: added p50 @1 conn <= 1 ms", p50 <= 1.0))
        twin = t.name.replace("postgresql", "sqlite")
        if (twin, 32) in res.wrk:
            share = res.fig(t.name, 32, "rps") / res.fig(twin, 32, "rps")
            print(f"  {t.name}: {share:.2f}x {twin}'s requests/s @32 conns")
            goals.append((f"{t.name}: requests/s within 10% of SQLite's", share >= 0.9))

    print(f"\nstreamed (chunks: {STREAM_CHUNKS} + usage + [DONE]; medians)")
    direct_ttft = sse_fig(res, "nginx", "ttft_p50_ms")
    direct_span = sse_fig(res, "nginx", "span_p50_ms")
    stream_bare = median(res.streamed["bare proxy"], "rps")
    for name in res.sse:
        rps = median(res.streamed[name], "rps")
        ttft = sse_fig(res, name, "ttft_p50_ms") - direct_ttft
        per_chunk = (sse_fig(res, name, "span_p50_ms") - direct_span) / (STREAM_CHUNKS + 2) * 1000
        ratio = "" if name == "nginx" else f" ({rps / stream_bare:.2f}x the bare proxy's)"
        print(
            f"  {name:<18} requests/s @32 conns {rps:>8,.0f}{ratio}; @1 conn: added TTFT "
            f"p50 {ttft:+.3f} ms, per-chunk overhead {per_chunk:+.1f} us"
        )
        if any(t.name == name for t in gws):
            goals.append((f"{name}: added time to first token @1 conn <= 1 ms", ttft <= 1.0))

    if workers2 is not None:
        one = f"{next(t.name for t in gws if t.gateway and t.gateway.workers == 1)} (again)"
        w2 = res.wrk[(workers2.name, 32)]
        w1 = res.wrk[(one, 32)]
        print(
            f"\n--workers 2: {median(w2, 'rps'):,.0f} req/s @32 conns against one worker's "
            f"{median(w1, 'rps'):,.0f} ({median(w2, 'rps') / median(w1, 'rps'):.2f}x); wrk itself "
            f"used {median(w2, 'wrk_cpu'):.2f} and {median(w1, 'wrk_cpu'):.2f} of the 2 cores"
        )
    return goals


def metrics_count(url: str) -> float:
    """Chat completions answered 200, as the gateway's ``/metrics`` counts them."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    pattern = r'^gatewayz_requests_total\{model="[^"]*",route="chat_completions",status="200"\}'
    return sum(float(m[1]) for m in re.finditer(pattern + r"\s+([\d.e+]+)$", text, re.M))


def verify(gateways: list[Gateway]) -> bool:
    time.sleep(0.5)  # requests wrk cut off may still be finishing (and are recorded too)
    fine = True
    for gw in gateways:
        total, ok = rows_of(gw)
        grew, grew_ok = total - gw.before[0], ok - gw.before[1]
        # A request cut off by the end of a run is recorded too: 200 if it was answered,
        # 499 if its stream was left midway.
        good = gw.answered <= grew_ok <= gw.answered + gw.cut_off and grew - grew_ok <= gw.cut_off
        counted = metrics_count(gw.url) if gw.workers == 1 else float(gw.answered)
        print(
            f"{gw.name}: +{grew_ok:,} committed usage rows with status 200 for {gw.answered:,} "
            f"answers (+ up to {gw.cut_off} cut off): {'ok' if good else 'MISMATCH'}; "
            f"/metrics counted {counted:,.0f}"
        )
        fine = fine and good and counted >= gw.answered
    return fine


def soak(gw: Gateway, minutes: float) -> bool:
    """32 connections for ``minutes``; the resident memory after each slice."""
    print(f"\nsoak: 32 connections on {gw.name} for {minutes:g} min; RSS {rss_mb(gw.pid):.1f} MB")
    samples: list[float] = []
    deadline = time.monotonic() + minutes * 60
    while (left := deadline - time.monotonic()) > 1:
        result = run_wrk(gw.url, 32, min(SOAK_SLICE_S, left), gw.keys["off"])
        gw.answered += result.requests - result.failed
        gw.cut_off += 32
        samples.append(rss_mb(gw.pid))
        print(
            f"  {len(samples):>3}  {result.rps:>8,.0f} req/s  RSS {samples[-1]:.1f} MB", flush=True
        )
    flat = bool(samples) and max(samples) - samples[0] <= SOAK_FLAT_MB
    verdict = "flat" if flat else "GROWING"
    growth = max(samples) - samples[0] if samples else 0.0
    print(f"soak: RSS grew {growth:.1f} MB after the first slice (<= {SOAK_FLAT_MB} MB: {verdict})")
    return flat


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--duration", type=float, default=8, help="seconds per wrk run")
    cli.add_argument("--repeat", type=int, default=1, help="runs per figure (median)")
    cli.add_argument(
        "--backend", default="sqlite", help="sqlite, postgresql, or both comma-separated"
    )
    cli.add_argument("--server", choices=("uvicorn", "granian"), help="the gateway's ASGI server")
    cli.add_argument("--no-workers", action="store_true", help="skip the --workers 2 figure")
    cli.add_argument("--soak", type=float, metavar="MINUTES", help="then soak for MINUTES")
    cli.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = cli.parse_args()
    backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    if not backends or set(backends) - {"sqlite", "postgresql"}:
        cli.error("--backend takes sqlite, postgresql or both, comma-separated")
    which("wrk", "/usr/bin/wrk")

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):  # even where the shell ignored SIGINT
        signal.signal(signum, interrupted)
    root = Path(tempfile.mkdtemp(prefix="gatewayz-bench-"))
    procs = Processes(root)
    with contextlib.ExitStack() as stack:
        try:
            upstream = start_nginx(procs, root)
            bare = start_bare_proxy(procs, upstream)
            targets = [Target("nginx", upstream), Target("bare proxy", bare)]
            gateways: list[Gateway] = []
            for backend in backends:
                url = stack.enter_context(database(backend, root))
                gw = start(procs, root, upstream, f"gw-{backend}", url, args.server)
                gateways.append(gw)
                targets.append(Target(gw.name, gw.url, gw.keys["off"], gw))
            idle = {gw.name: rss_mb(gw.pid) for gw in gateways}
            for gw in gateways:
                if "mem" in gw.keys:
                    targets.append(Target(gw.name + "+limits", gw.url, gw.keys["mem"], gw))
            workers2 = None
            if not args.no_workers:
                gw2 = start(procs, root, upstream, "gw-sqlite-w2", None, args.server, workers=2)
                gateways.append(gw2)
                workers2 = Target(gw2.name, gw2.url, gw2.keys["off"], gw2)
            print(
                f"nginx {upstream}, bare proxy {bare}, "
                + ", ".join(f"{g.name} {g.url}" for g in gateways)
            )
            res = measure(targets, workers2, args.duration, args.repeat)
            goals = report(res, targets, workers2)
            print()
            for gw in gateways:
                if gw.workers == 1:
                    loaded = rss_mb(gw.pid)
                    ok = idle[gw.name] < IDLE_RSS_LIMIT_MB
                    goals.append((f"{gw.name}: idle RSS < {IDLE_RSS_LIMIT_MB} MB", ok))
                    print(
                        f"{gw.name}: resident memory {idle[gw.name]:.1f} MB idle, "
                        f"{loaded:.1f} MB after the load"
                    )
            recorded = verify(gateways)
            if args.soak:
                goals.append(("RSS flat over the soak", soak(gateways[0], args.soak)))
                recorded = verify(gateways[:1]) and recorded
            print("\ngoals:")
            for goal, met in goals:
                print(f"  {'met   ' if met else 'MISSED'}  {goal}")
            print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
            return 0 if recorded and all(m for _, m in goals) else 1
        except KeyboardInterrupt:
            print("\nbench: interrupted", file=sys.stderr)
            return 130
        except subprocess.CalledProcessError as exc:
            print(f"bench: {exc.cmd[0]} failed:\n{exc.stderr}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all()  # before the databases are dropped
            if args.keep:
                print(f"logs and database kept in {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
