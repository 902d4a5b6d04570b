"""How long ``POST /v1/billing/requests`` takes for 10,000 request ids (HF's batch size).

    python bench/billing_lookup.py --backend sqlite
    python bench/billing_lookup.py --backend postgresql   # a throwaway database

It fills a database with ``--rows`` usage records of one partner key, starts a real
``gatewayz serve`` on it, and times the call over HTTP with 10,000 ids of which half are
known (target: under 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from usage_query import PG_SERVER, _pg, fill_postgres, fill_sqlite, rows

from gatewayz.db.engine import create_engine
from gatewayz.db.migrate import upgrade
from gatewayz.services.keys import KeyStore

IDS = 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def partner_key(url: str) -> str:
    engine = create_engine(url)
    try:
        return await KeyStore(engine).create("hf-router", partner=True)
    finally:
        await engine.dispose()


def serve(workdir: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    config = workdir / "gatewayz.yaml"
    config.write_text(yaml.safe_dump({"database_url": url}))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatewayz", "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the gateway did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    name = f"gatewayz_bench_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = (
            f"sqlite:///{workdir / 'bench.db'}"
            if args.backend == "sqlite"
            else (f"{PG_SERVER}/{name}")
        )
        if args.backend == "postgresql":
            asyncio.run(_pg(f"CREATE DATABASE {name}"))
        proc = None
        try:
            upgrade(url)
            key = asyncio.run(partner_key(url))  # key id 1: the rows below belong to it
            data = rows(args.rows, 1, 30)
            if args.backend == "sqlite":
                fill_sqlite(workdir / "bench.db", data, 0)
            else:
                asyncio.run(fill_postgres(url, data, 0))
            known = [r[0] for r in random.Random(3).sample(data, IDS // 2)]
            ids = known + [str(uuid.uuid4()) for _ in range(IDS - len(known))]
            proc, base = serve(workdir, url)
            headers = {"Authorization": f"Bearer {key}"}
            ms = []
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                for _ in range(args.repeats):
                    started = time.perf_counter()
                    r = client.post("/v1/billing/requests", json={"requestIds": ids})
                    ms.append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 200 and len(r.json()["requests"]) == len(known)
            print(
                f"{args.backend}: POST /v1/billing/requests with {IDS:,} ids "
                f"({len(known):,} known, {args.rows:,} rows in the table): median "
                f"{statistics.median(ms):.0f} ms, max {max(ms):.0f} ms over {args.repeats}"
            )
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
            if args.backend == "postgresql":
                asyncio.run(_pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


if __name__ == "__main__":
    main()
