"""The README's benchmark command runs (shortened: 1 s per figure, SQLite only, no second
gateway), prints every figure and goal, and finds every answer's usage row committed."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.servers import ROOT

README = (ROOT / "README.md").read_text()


def test_bench_run_prints_every_figure_and_checks_the_records() -> None:
    assert "bench/run.py --duration 8 --repeat 3 --backend sqlite,postgresql" in README
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--duration", "1", "--backend", "sqlite", "--no-workers"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout
    assert done.returncode in (0, 1), done.stderr  # 1: a goal missed on a loaded machine
    for figure in (
        r"requests/s @32 conns\s+[\d,]+\s+[\d,]+\s+[\d,]+",
        r"gw-sqlite\s+requests/s @32 conns [\d.]+x .* added @1 conn p50 [+-][\d.]+ ms",
        r"gw-sqlite\s+requests/s @32 conns\s+[\d,]+ \([\d.]+x the bare proxy's\); @1 conn: "
        r"added TTFT p50 [+-][\d.]+ ms, per-chunk overhead [+-][\d.]+ us",
        r"gw-sqlite: resident memory [\d.]+ MB idle, [\d.]+ MB after the load",
        r"gw-sqlite: \+[\d,]+ committed usage rows with status 200 for [\d,]+ answers .*: ok",
        r"(met   |MISSED)  gw-sqlite: added time to first token @1 conn <= 1 ms",
    ):
        assert re.search(figure, out), f"{figure!r} not in:\n{out}\n{done.stderr}"
    assert "MISMATCH" not in out


def test_bench_limits_prints_both_backends_side_by_side() -> None:
    """``bench/limits.py`` (shortened: one round of 1-second slices) compares each
    backend's limited key with the unlimited key of the same gateway, and every request
    of both is answered (limits high enough that none is refused)."""
    done = subprocess.run(
        [sys.executable, "bench/limits.py", "--duration", "1", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}"
    for figure in (
        r"requests/s @32 conns(\s+[\d,]+){4}",
        r"CPU us/request @32 conns(\s+\d+){4}",
        r"requests/s lost with limits in memory: -?[\d.]+% \(median of the rounds' "
        r"limited/off ratios on one gateway: [\d.]+\)",
        r"requests/s lost with limits in redis: -?[\d.]+%",
        r"CPU per request added by the limits @32 conns: [+-]\d+ us; p50 added @1 conn: "
        r"[+-]\d+ us",
        r"the Redis server's own CPU per limited request @32 conns: \d+ us",
    ):
        assert re.search(figure, out), f"{figure!r} not in:\n{out}\n{done.stderr}"
    assert "failed requests" not in out


def test_bench_ledger_cost_prints_the_commit_the_append_and_the_drain() -> None:
    done = subprocess.run(
        [sys.executable, "bench/ledger_cost.py", "--rows", "600"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for what in ("SQLite commit (the ledger's writer)", "usage journal append (one write)"):
        for group in ("1 row", "12 rows"):
            assert re.search(rf"{re.escape(what)}, {group}(\s+[\d.]+){{3}}", done.stdout), (
                done.stdout
            )
    assert re.search(r"journal drain \(insert_new\), 80 rows(\s+[\d.]+){3}", done.stdout)
