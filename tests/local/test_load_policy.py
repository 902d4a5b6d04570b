"""Which embedded models a gateway serves and when they load (``local`` in the
configuration), seen as an operator sees it: ``/v1/models``, ``/ready``, the answers, the
log and the process's memory."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.checks import bearer, hf_error, openai_error
from tests.servers import PYTHON, Gateway, free_port

CHAT = "smol"
READY_TIMEOUT_S = 90


def model(model_id: str, task: str, route: str = "default") -> dict[str, Any]:
    return {
        "id": model_id,
        "hub_model_id": f"gatewayz-test/{model_id}",
        "task": task,
        "routes": [{"provider": "local", "model": route}],
    }


def config(workdir: Path, local: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{workdir / 'gw.db'}",
        "providers": [{"name": "local", "kind": "local"}],
        "models": [
            model(CHAT, "conversational", "smollm2-135m-instruct"),
            model("ner", "token-classification"),
            model("sentiment", "text-classification"),
            *extra,
        ],
        "local": local,
    }


def rss_mb(gateway: Gateway) -> float:
    for line in Path(f"/proc/{gateway.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def wait_ready(gateway: Gateway) -> list[str]:
    """Poll ``/ready`` until 200; the 503 messages seen on the way."""
    seen = []
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        resp = httpx.get(f"{gateway.url}/ready")
        if resp.status_code == 200:
            return seen
        seen.append(hf_error(resp, 503))
        time.sleep(0.05)
    raise AssertionError(f"not ready after {READY_TIMEOUT_S} s: {seen[-1:]}")


@pytest.fixture
def started() -> Iterator[list[Gateway]]:
    gateways: list[Gateway] = []
    yield gateways
    for gateway in gateways:
        gateway.stop()


def start(gateways: list[Gateway], workdir: Path, cfg: dict[str, Any]) -> tuple[Gateway, str]:
    workdir.mkdir()
    gateway = Gateway(workdir, cfg)
    gateways.append(gateway)
    return gateway, gateway.create_key("load")


def test_an_off_model_is_not_listed_and_answers_404(tmp_path: Path, started: list[Gateway]) -> None:
    gateway, key = start(
        started, tmp_path / "off", config(tmp_path / "off", {"models": {"ner": "off"}})
    )
    wait_ready(gateway)
    with httpx.Client(base_url=gateway.url, headers=bearer(key), timeout=60) as http:
        listed = {m["id"] for m in http.get("/v1/models").json()["data"]}
        assert listed == {CHAT, "sentiment"}
        message = hf_error(
            http.post("/hf/tasks/token-classification", json={"model": "ner", "inputs": "Paris"}),
            404,
        )
        assert "'ner'" in message
        assert http.post("/models/ner", json={"inputs": "Paris"}).status_code == 404
        sentiment = http.post(
            "/hf/tasks/text-classification", json={"model": "sentiment", "inputs": "I love it"}
        )
        assert sentiment.status_code == 200, sentiment.text


def test_eager_models_are_loaded_before_ready(tmp_path: Path, started: list[Gateway]) -> None:
    lazy, _ = start(started, tmp_path / "lazy", config(tmp_path / "lazy", {}))
    eager, key = start(
        started,
        tmp_path / "eager",
        config(tmp_path / "eager", {"models": {CHAT: "eager", "ner": "eager"}}),
    )
    waited = wait_ready(eager)
    wait_ready(lazy)
    assert all("loading the embedded models" in m for m in waited), waited
    assert {m.rsplit("(", 1)[1] for m in waited} <= {"0 of 2 loaded)", "1 of 2 loaded)"}, waited
    log = eager.log.read_text()
    # One line per model, though the chat model serves two tasks.
    assert log.count(f"preload: {CHAT} loaded") == 1 and log.count("preload: ner loaded") == 1
    assert "preload:" not in lazy.log.read_text()
    # SmolLM2's weights and context and spaCy's pipeline are resident before any request.
    assert rss_mb(eager) > rss_mb(lazy) + 60, (rss_mb(eager), rss_mb(lazy))
    with httpx.Client(base_url=eager.url, headers=bearer(key), timeout=60) as http:
        chat = http.post(
            "/v1/chat/completions",
            json={"model": CHAT, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
        )
        assert chat.status_code == 200, chat.text


def test_an_eager_model_that_cannot_load_keeps_the_gateway_unready(
    tmp_path: Path, started: list[Gateway]
) -> None:
    broken = model("broken", "conversational", str(tmp_path / "missing.gguf"))
    sentiment = model("feelings", "text-classification")
    cfg = config(
        tmp_path / "broken", {"models": {"broken": "eager", "feelings": "eager"}}, broken, sentiment
    )
    gateway, key = start(started, tmp_path / "broken", cfg)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while "preload: feelings" not in gateway.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    # The eager model configured after the broken one is still loaded.
    assert "preload: feelings loaded" in gateway.log.read_text()
    assert httpx.get(f"{gateway.url}/health").status_code == 200
    for _ in range(5):  # a load balancer's probes
        message = hf_error(httpx.get(f"{gateway.url}/ready"), 503)
        assert "'broken' failed to load" in message
    log = gateway.log.read_text()
    assert log.count("preload: embedded model 'broken' failed to load") == 1
    assert "failed: the embedded model 'broken'" not in log  # no warning per probe
    # The other models still answer; only readiness says something is wrong.
    resp = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        headers=bearer(key),
        json={"model": "broken", "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert "does not exist" in openai_error(resp, 501)["message"]


def refused(tmp_path: Path, cfg: dict[str, Any]) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run(
        [PYTHON, "-m", "gatewayz", "serve", "--config", str(path), "--port", str(free_port())],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "GATEWAYZ_CONFIG"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


def test_bad_load_settings_stop_start_up_naming_the_key(tmp_path: Path) -> None:
    unknown = config(tmp_path, {"models": {"nope": "eager"}})
    assert "local.models: no model 'nope' is configured" in refused(tmp_path, unknown)
    bad_value = config(tmp_path, {"models": {"ner": "sometimes"}})
    assert "local.models.ner" in refused(tmp_path, bad_value)
    off_default = {**config(tmp_path, {"load": "off"}), "default_models": {"conversational": CHAT}}
    err = refused(tmp_path, off_default)
    assert "default_models.conversational: model 'smol' is off" in err
    remote = config(tmp_path, {"models": {"remote": "eager"}})
    remote["providers"].append(
        {"name": "up", "kind": "openai", "base_url": "http://127.0.0.1:9/v1"}
    )
    remote["models"].append(
        {
            "id": "remote",
            "hub_model_id": "x/remote",
            "task": "conversational",
            "routes": [{"provider": "up", "model": "m"}],
        }
    )
    assert "local.models.remote: only models whose every route" in refused(tmp_path, remote)
