"""Issue 10's smaller holes, each shown through the interface a user meets (HTTP or the
``gatewayz`` command): an explicit default model per task, unambiguous key identifiers, a
first-run key file that always ends 0600, the Hub token never sent over plain HTTP, and
the request id in a stream's error event."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import socket
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from gatewayz.config import ConfigError
from gatewayz.hub_standin import HubStandin
from gatewayz.services.hub_client import check_hub_url
from tests.checks import bearer, chat_body, hf_error, inference_id, openai_error
from tests.registry.conftest import PG_SERVER, PROVIDER, TOKEN, Workdir
from tests.servers import PYTHON, Gateway, LlamaUpstream, free_port

# --- a default model per task ----------------------------------------------------------


def _chat_model(model_id: str, status: str = "live") -> dict[str, Any]:
    return {
        "id": model_id,
        "hub_model_id": f"test/{model_id}",
        "task": "conversational",
        "status": status,
        "routes": [{"provider": "llama", "model": "smollm2"}],
    }


def _defaults_config(upstream: str, db: Path) -> dict[str, Any]:
    """Two live chat models; the second is the configured default for conversational
    (not for text-generation, which it also serves)."""
    return {
        "database_url": f"sqlite:///{db}",
        "auth_cache_ttl_s": 0,
        "providers": [
            {"name": "llama", "kind": "openai", "base_url": upstream},
            {"name": "local", "kind": "local"},
        ],
        "models": [
            _chat_model("chat-first"),
            _chat_model("chat-default"),
            _chat_model("chat-staging", status="staging"),
            {
                "id": "sentiment",
                "hub_model_id": "test/sentiment",
                "task": "text-classification",
                "routes": [{"provider": "local", "model": "default"}],
            },
        ],
        "default_models": {"conversational": "chat-default"},
    }


@pytest.fixture(scope="module")
def defaults_gateway(
    tmp_path_factory: pytest.TempPathFactory, llama_upstream: LlamaUpstream
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("defaults")
    server = Gateway(workdir, _defaults_config(llama_upstream.base_url, workdir / "gw.db"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def defaults_http(defaults_gateway: Gateway) -> Iterator[httpx.Client]:
    key = defaults_gateway.create_key("defaults")
    with httpx.Client(base_url=defaults_gateway.url, headers=bearer(key), timeout=60) as c:
        yield c


def _usage_model(http: httpx.Client, resp: httpx.Response) -> str:
    """The model the gateway billed a request to, as the caller's usage listing shows."""
    rid = inference_id(resp)
    records = http.get("/hf/tasks/billing/usage", params={"limit": 1000}).json()["data"]
    (record,) = [r for r in records if r["request_id"] == rid]
    return str(record["model"])


def test_a_request_without_model_goes_to_the_configured_default(
    defaults_http: httpx.Client,
) -> None:
    body = chat_body("unused", max_tokens=2)
    del body["model"]
    chat = defaults_http.post("/v1/chat/completions", json=body)
    assert chat.status_code == 200, chat.text
    assert chat.json()["model"] == "chat-default"  # not chat-first, which is listed first
    streamed = defaults_http.post("/v1/chat/completions", json={**body, "stream": True})
    assert streamed.status_code == 200 and '"chat-default"' in streamed.text
    for path, hf_body in [
        ("/hf/tasks/conversational", {"inputs": "Hi", "parameters": {"max_new_tokens": 2}}),
        ("/hf/tasks/run", {"task": "conversational", "inputs": "Hi"}),
    ]:
        resp = defaults_http.post(path, json={**hf_body, "parameters": {"max_new_tokens": 2}})
        assert resp.status_code == 200, resp.text
        assert _usage_model(defaults_http, resp) == "chat-default"


def test_a_task_without_a_default_is_a_400_asking_for_model(
    defaults_http: httpx.Client,
) -> None:
    """text-generation has no default here (its chat models would serve it), nor has
    text-classification (its only model would): the caller must name one."""
    completion = defaults_http.post("/v1/completions", json={"prompt": "Hi", "max_tokens": 2})
    error = openai_error(completion, 400, "model_required")
    assert "'text-generation'" in error["message"] and "'model'" in error["message"]
    for path, body, task in [
        ("/hf/tasks/text-generation", {"inputs": "Hi"}, "text-generation"),
        ("/hf/tasks/text-classification", {"inputs": "nice"}, "text-classification"),
        ("/hf/tasks/run", {"task": "text-classification", "inputs": "nice"}, "text-classification"),
        ("/hf/tasks/summarization", {"inputs": "Some text."}, "summarization"),
    ]:
        message = hf_error(defaults_http.post(path, json=body), 400)
        assert f"'{task}'" in message and "'model'" in message, message
    named = defaults_http.post(
        "/hf/tasks/text-classification", json={"inputs": "nice", "model": "sentiment"}
    )
    assert named.status_code == 200, named.text


def test_openai_task_routes_without_model_follow_the_same_rule(
    trouble_gateway: Gateway, trouble_key: str
) -> None:
    """A gateway with no ``default_models``: every route where ``model`` may be left out
    answers 400 naming the task, whatever models are configured."""
    with httpx.Client(base_url=trouble_gateway.url, headers=bearer(trouble_key)) as http:
        embedded = http.post("/v1/embeddings", json={"input": "hello"})
        assert "'feature-extraction'" in openai_error(embedded, 400, "model_required")["message"]
        image = http.post("/v1/images/generations", json={"prompt": "a cat"})
        assert "'text-to-image'" in openai_error(image, 400, "model_required")["message"]
        chat = chat_body("unused")
        del chat["model"]
        for stream in (False, True):
            resp = http.post("/v1/chat/completions", json={**chat, "stream": stream})
            assert "'conversational'" in openai_error(resp, 400, "model_required")["message"]


def _refused_config(tmp_path: Path, defaults: dict[str, str]) -> str:
    """Run ``gatewayz serve`` on the defaults configuration with other ``default_models``;
    it must refuse to start. Returns its stderr."""
    config = _defaults_config("http://127.0.0.1:9/v1", tmp_path / "never.db")
    config["default_models"] = defaults
    path = tmp_path / "gatewayz.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [PYTHON, "-m", "gatewayz", "serve", "--config", str(path), "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "never.db").exists()
    return proc.stderr


@pytest.mark.parametrize(
    ("defaults", "fragment"),
    [
        ({"conversational": "no-such-model"}, "no model 'no-such-model' is configured"),
        ({"conversational": "chat-staging"}, "'chat-staging' is staging"),
        ({"summarization": "sentiment"}, "serves text-classification, not 'summarization'"),
        ({"chatting": "chat-default"}, "default_models.chatting"),
    ],
)
def test_a_default_that_cannot_serve_its_task_stops_start_up(
    tmp_path: Path, defaults: dict[str, str], fragment: str
) -> None:
    assert fragment in _refused_config(tmp_path, defaults)


# --- key identifiers -------------------------------------------------------------------


def _key_ids(gateway: Gateway) -> dict[str, list[int]]:
    """Active key ids by name, from ``gatewayz keys list``."""
    out: dict[str, list[int]] = {}
    for line in gateway.cli("keys", "list").stdout.splitlines()[1:]:
        fields = line.split()
        if fields[-1] == "active":
            out.setdefault(fields[2], []).append(int(fields[0]))
    return out


def _status(gateway: Gateway, key: str) -> int:
    return httpx.get(f"{gateway.url}/v1/models", headers=bearer(key)).status_code


def _balance(gateway: Gateway, key: str) -> int | None:
    value = httpx.get(f"{gateway.url}/v1/billing/balance", headers=bearer(key)).json()
    return value["balance_nano_usd"]  # type: ignore[no-any-return]


def test_an_all_digit_prefix_is_a_prefix_never_an_id(trouble_gateway: Gateway) -> None:
    """The reported case: ``keys revoke 000000000007`` revoked key id 7 instead of the key
    whose prefix is 000000000007."""
    gw = trouble_gateway
    victim = gw.create_key("digit-victim")
    victim_id = _key_ids(gw)["digit-victim"][0]
    digits = f"{victim_id:012d}"
    # A key whose random hex prefix happens to be all digits (made so in the database).
    other = gw.create_key("digit-prefixed")
    secret = other.split("_", 2)[2]
    crafted = f"gz_{digits}_{secret}"
    digest = hashlib.sha256(crafted.encode()).hexdigest()
    (other_id,) = _key_ids(gw)["digit-prefixed"]
    with sqlite3.connect(gw.db_path) as db:
        db.execute(
            "UPDATE api_keys SET prefix = ?, key_hash = ? WHERE id = ?", (digits, digest, other_id)
        )
    assert _status(gw, crafted) == 200 and _status(gw, victim) == 200

    bare = gw.cli("keys", "revoke", str(victim_id), check=False)  # a bare number: not an id
    assert bare.returncode == 1 and "id:N" in bare.stderr, bare.stderr
    assert gw.cli("keys", "revoke", digits).returncode == 0
    assert _status(gw, crafted) == 401
    assert _status(gw, victim) == 200  # key id N untouched
    out = gw.cli("keys", "revoke", f"id:{victim_id}")
    assert f"id:{victim_id}" in out.stdout and "digit-victim" in out.stdout
    assert _status(gw, victim) == 401


def test_an_identifier_naming_several_keys_is_refused_listing_them(
    trouble_gateway: Gateway,
) -> None:
    gw = trouble_gateway
    twins = [gw.create_key("twin") for _ in range(2)]
    ids = _key_ids(gw)["twin"]
    refused = gw.cli("keys", "credit", "twin", "--usd", "1", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "matches 2 active keys" in refused.stderr
    assert all(f"id:{i}" in refused.stderr for i in ids), refused.stderr
    assert [_balance(gw, k) for k in twins] == [None, None]  # neither was touched
    revoke = gw.cli("keys", "revoke", "twin", check=False)
    assert revoke.returncode == 1 and all(_status(gw, k) == 200 for k in twins)

    gw.cli("keys", "credit", f"id:{ids[1]}", "--usd", "1")
    assert [_balance(gw, k) for k in twins] == [None, 1_000_000_000]
    prefix = twins[0].split("_")[1]
    gw.cli("keys", "credit", f"prefix:{prefix}", "--usd", "0.5")
    assert _balance(gw, twins[0]) == 500_000_000


def test_credit_and_revoke_by_name_whole_key_and_bad_identifiers(
    trouble_gateway: Gateway,
) -> None:
    gw = trouble_gateway
    key = gw.create_key("solo-name")
    out = gw.cli("keys", "credit", "solo-name", "--usd", "2")
    assert "balance 2000000000 nano-USD" in out.stdout and "solo-name" in out.stdout
    assert gw.cli("keys", "credit", "name:solo-name", "--usd", "1").returncode == 0
    assert _balance(gw, key) == 3_000_000_000
    forged = key[: key.rindex("_") + 1] + "x" * 43  # the right prefix, a wrong secret
    for ident in (forged, "id:abc", "id:99999999999999999999", "nobody-has-this-name"):
        proc = gw.cli("keys", "revoke", ident, check=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("gatewayz: ") and "id:" in proc.stderr
    assert _status(gw, key) == 200
    assert gw.cli("keys", "revoke", key).returncode == 0  # the whole key
    assert _status(gw, key) == 401


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.mark.postgres
def test_key_identifiers_on_postgresql(tmp_path: Path) -> None:
    """The same rules on PostgreSQL, through the CLI alone (no server needed)."""
    name = f"gatewayz_keys_{secrets.token_hex(6)}"
    asyncio.run(_pg(f"CREATE DATABASE {name}"))
    try:
        config = tmp_path / "gatewayz.yaml"
        config.write_text(yaml.safe_dump({"database_url": f"{PG_SERVER}/{name}"}))

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [PYTHON, "-m", "gatewayz", "--config", str(config), "keys", *args],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )

        for _ in range(2):
            assert cli("create", "--name", "twin").returncode == 0
        refused = cli("credit", "twin", "--usd", "1")
        assert refused.returncode == 1 and "id:1" in refused.stderr and "id:2" in refused.stderr
        for ident in ("000000000001", "id:99999999999999999999"):  # a bare number: no id
            proc = cli("revoke", ident)
            assert proc.returncode == 1 and "no active key matches" in proc.stderr, proc.stderr
        credited = cli("credit", "id:2", "--usd", "1")
        assert "balance 1000000000 nano-USD" in credited.stdout, credited.stderr
        listing = cli("list").stdout.splitlines()[1:]
        assert [ln.split()[-1] for ln in listing] == ["active", "active"]
    finally:
        asyncio.run(_pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


# --- the first-run key file ------------------------------------------------------------


def _first_run_config(tmp_path: Path, key_file: Path) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{tmp_path / 'gw.db'}",
        "first_key_file": str(key_file),
        "providers": [{"name": "local", "kind": "local"}],
        "models": [
            {
                "id": "sentiment",
                "hub_model_id": "test/sentiment",
                "task": "text-classification",
                "routes": [{"provider": "local", "model": "default"}],
            }
        ],
    }


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_first_run_key_file_ends_0600_whatever_was_there(tmp_path: Path) -> None:
    key_file = tmp_path / ".gatewayz-key"
    key_file.write_text("a stale line, not a key\n")
    key_file.chmod(0o644)
    config = _first_run_config(tmp_path, key_file)
    first = Gateway(tmp_path, config)
    try:
        key = key_file.read_text().strip()
        assert _mode(key_file) == 0o600
        assert _status(first, key) == 200
    finally:
        first.stop()
    key_file.chmod(0o644)  # loosened between runs: the next start tightens it again
    again = Gateway(tmp_path, config)
    try:
        assert key_file.read_text().strip() == key  # the same, still active key
        assert _mode(key_file) == 0o600
    finally:
        again.stop()
    assert [p.name for p in tmp_path.glob(".gatewayz-key.*")] == []  # no temp file left


def test_a_symlink_at_the_key_file_is_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("someone else's file\n")
    target.chmod(0o644)
    key_file = tmp_path / ".gatewayz-key"
    key_file.symlink_to(target)
    path = tmp_path / "gatewayz.yaml"
    path.write_text(yaml.safe_dump(_first_run_config(tmp_path, key_file)))
    proc = subprocess.run(
        [PYTHON, "-m", "gatewayz", "serve", "--config", str(path), "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "symbolic link" in proc.stderr
    assert target.read_text() == "someone else's file\n" and _mode(target) == 0o644
    assert key_file.is_symlink()
    assert "gz_" not in proc.stdout  # no key was made or shown


# --- the Hub token over HTTPS only -----------------------------------------------------


@pytest.fixture(scope="module")
def hub() -> Iterator[HubStandin]:
    server = HubStandin().start()
    yield server
    server.stop()


@pytest.fixture
def workdir(tmp_path: Path, hub: HubStandin) -> Workdir:
    hub.reset(PROVIDER, TOKEN)
    workdir = Workdir(tmp_path, hub)
    workdir.create_database()  # as the gateway's first start does: hf sync makes none
    return workdir


class _Listener:
    """A TCP listener on every interface that counts the connections it receives."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("0.0.0.0", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self.sock.close()


def _own_address() -> str | None:
    """This machine's non-loopback IPv4 address, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_hf_sync_refuses_plain_http_to_a_non_loopback_hub(workdir: Workdir) -> None:
    listener = _Listener()
    try:
        targets = ["http://hub.example.com", "http://10.1.2.3:8080", "ftp://127.0.0.1"]
        own = _own_address()
        if own is not None:
            targets.append(f"http://{own}:{listener.port}")
        for url in targets:
            for env in ({"HF_TOKEN": "hf_secret_token_value"}, {"HF_ENDPOINT": url}):
                args = ["--hub-url", url] if "HF_TOKEN" in env else []
                proc = workdir.cli(
                    "hf",
                    "sync",
                    "--provider",
                    PROVIDER,
                    *args,
                    env={"HF_TOKEN": "hf_secret_token_value", **env},
                )
                assert proc.returncode == 2, proc.stdout + proc.stderr
                assert "only sent over HTTPS" in proc.stderr and url in proc.stderr
                assert "hf_secret_token_value" not in proc.stdout + proc.stderr
        assert listener.received == []  # nothing, token or not, went out
    finally:
        listener.close()
    assert workdir.hub.calls() == []


def test_hf_sync_over_http_to_loopback_still_works(workdir: Workdir) -> None:
    """The local stand-in (``http://127.0.0.1``) and ``localhost`` remain usable."""
    port = workdir.hub.url.rsplit(":", 1)[1]
    proc = workdir.cli(
        "hf",
        "sync",
        "--provider",
        PROVIDER,
        "--hub-url",
        f"http://localhost:{port}",
        "--dry-run",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dry run: nothing was changed" in proc.stdout


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://huggingface.co", True),
        ("https://hub.internal:8443/", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.9.8.7", True),
        ("http://[::1]:8080", True),
        ("http://LOCALHOST:1", True),
        ("http://huggingface.co", False),
        ("http://localhost.example.com", False),
        ("http://[::ffff:10.0.0.1]", False),
        ("http://[::1", False),
        ("https://", False),
        ("huggingface.co", False),
    ],
)
def test_hub_url_rule(url: str, allowed: bool) -> None:
    if allowed:
        assert check_hub_url(url) == url
    else:
        with pytest.raises(ConfigError, match="only sent over HTTPS"):
            check_hub_url(url)


# --- the request id in a stream's error event ------------------------------------------


def _last_event(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = [b.removeprefix("data:").strip() for b in resp.text.split("\n\n") if b.strip()]
    assert len(events) >= 2 and "[DONE]" not in events, events
    return json.loads(events[-1])


@pytest.mark.parametrize(
    "path",
    ["/v1/chat/completions", "/v1/completions", "/models/smol-cutoff/v1/chat/completions"],
)
def test_openai_stream_cut_by_the_upstream_ends_with_the_request_id(
    trouble_gateway: Gateway, trouble_key: str, path: str
) -> None:
    body: dict[str, Any] = {"model": "smol-cutoff", "max_tokens": 40, "stream": True}
    if "chat" in path:
        body["messages"] = [{"role": "user", "content": "Tell me a long story."}]
    else:
        body["prompt"] = "Once upon a time, in a land far away,"
    resp = httpx.post(
        f"{trouble_gateway.url}{path}", json=body, headers=bearer(trouble_key), timeout=60
    )
    error = _last_event(resp)["error"]
    assert set(error) == {"message", "type", "code", "request_id"}, error
    assert error["request_id"] == inference_id(resp)
    assert error["type"] == "upstream_error"


def test_hf_text_generation_stream_cut_by_the_upstream_ends_with_the_request_id(
    trouble_gateway: Gateway, trouble_key: str
) -> None:
    body = {
        "model": "smol-cutoff",
        "inputs": "Once upon a time, in a land far away,",
        "parameters": {"max_new_tokens": 40},
        "stream": True,
    }
    resp = httpx.post(
        f"{trouble_gateway.url}/hf/tasks/text-generation",
        json=body,
        headers=bearer(trouble_key),
        timeout=60,
    )
    event = _last_event(resp)
    assert set(event) == {"error", "error_type", "request_id"}, event
    assert isinstance(event["error"], str) and event["error"]
    assert event["request_id"] == inference_id(resp)
