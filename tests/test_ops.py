"""Operational routes: liveness, readiness (also when the database goes away), and the
Prometheus metrics a request leaves behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.checks import bearer, chat_body, hf_error, inference_id
from tests.servers import Gateway, free_port

MODEL = "smol-upstream"


def metrics(gateway: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = httpx.get(f"{gateway.url}/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def sample(
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def test_health_needs_no_key(gateway: Gateway) -> None:
    resp = httpx.get(f"{gateway.url}/health")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}
    inference_id(resp)


def test_ready_when_the_database_answers(gateway: Gateway) -> None:
    resp = httpx.get(f"{gateway.url}/ready")
    assert resp.status_code == 200 and resp.json() == {"status": "ready"}


def test_metrics_count_requests_latency_tokens_and_cost(gateway: Gateway, user_key: str) -> None:
    before = metrics(gateway)
    resp = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json=chat_body(MODEL),
        headers=bearer(user_key),
        timeout=60,
    )
    assert resp.status_code == 200
    usage = resp.json()["usage"]
    denied = httpx.post(f"{gateway.url}/v1/chat/completions", json=chat_body(MODEL))
    assert denied.status_code == 401
    after = metrics(gateway)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    ok = {"route": "chat_completions", "model": MODEL, "status": "200"}
    assert delta("gatewayz_requests_total", **ok) == 1
    assert delta("gatewayz_requests_total", route="chat_completions", model="", status="401") == 1
    assert delta("gatewayz_request_duration_seconds_count", route="chat_completions") == 2
    assert delta("gatewayz_request_duration_seconds_sum", route="chat_completions") > 0
    assert delta("gatewayz_gateway_added_seconds_count", route="chat_completions") == 2
    added = delta("gatewayz_gateway_added_seconds_sum", route="chat_completions")
    assert 0 <= added < delta("gatewayz_request_duration_seconds_sum", route="chat_completions")
    tokens_in = delta("gatewayz_tokens_total", model=MODEL, direction="input")
    tokens_out = delta("gatewayz_tokens_total", model=MODEL, direction="output")
    assert (tokens_in, tokens_out) == (usage["prompt_tokens"], usage["completion_tokens"])
    cost = delta("gatewayz_cost_nano_usd_total", model=MODEL)
    assert cost == usage["prompt_tokens"] * 500 + usage["completion_tokens"] * 1500


POSTGRES_TOOLS = shutil.which("initdb") and shutil.which("pg_ctl") and shutil.which("runuser")


class Postgres:
    """A throwaway PostgreSQL cluster on a free port, owned by the ``postgres`` user."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.port = free_port()
        shutil.chown(root, "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "gw", "--no-sync")
        self.start()
        self.url = f"postgresql://gw@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.data.parent / "postgres.log")  # keeps pg_ctl's pipes free
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", opts, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    if not POSTGRES_TOOLS or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL's initdb/pg_ctl and root (to run them as postgres)")
    # Not under pytest's tmp_path: the postgres user must be able to reach it.
    root = Path(tempfile.mkdtemp(prefix="gatewayz-pg-"))
    server = Postgres(root)
    yield server
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            "pg_ctl",
            "-D",
            str(server.data),
            "-m",
            "immediate",
            "stop",
        ],
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(root, ignore_errors=True)


def test_ready_is_503_while_the_database_is_down(tmp_path: Path, postgres: Postgres) -> None:
    gateway = Gateway(tmp_path, {"database_url": postgres.url, "providers": [], "models": []})
    try:
        assert httpx.get(f"{gateway.url}/ready").status_code == 200
        postgres.stop()
        down = httpx.get(f"{gateway.url}/ready", timeout=30)
        assert "database" in hf_error(down, 503)
        # The operator learns why from the log: the driver's reason follows the message.
        why = gateway.log.read_text().split("not ready: the database is not reachable: ")
        assert len(why) > 1 and why[1].split("\n")[0].strip(), gateway.log.read_text()[-2000:]
        assert httpx.get(f"{gateway.url}/health").status_code == 200  # still alive
        postgres.start()
        assert httpx.get(f"{gateway.url}/ready", timeout=30).status_code == 200
    finally:
        gateway.stop()
