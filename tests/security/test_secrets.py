"""Upstream error text never hands a caller (or the log) a secret.

A real gateway, configured with two upstream keys, in front of an upstream that echoes
them back in every way it can (tests/security/hostile_upstream.py): whole, truncated,
elided, split by a NUL, as header lines and JSON fields, in 4xx/5xx bodies, in a
``Retry-After`` header, in a mid-stream error event, in an HF task server's error body and
content type. No response body or header and no log line may carry a configured key (nor
any 8 characters of one) or the credentials the upstream makes up; each error still says
what went wrong, with its request id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.billing.conftest import BACKENDS
from tests.checks import bearer, chat_body, hf_error, inference_id, openai_error
from tests.security.hostile_upstream import HostileUpstream
from tests.servers import Gateway

# Two upstream keys: one only its value can give away, one shaped like OpenAI's.
PLAIN_KEY = "Zq7vR2mL9xT4nB8kW1pY6cH3sD5fG0jA"
SK_KEY = "sk-gw-9fQ2xL7mR4tV8bN1cK6pZ3wY5hJ0dS"
SECRETS = (PLAIN_KEY, SK_KEY)
# What must never show: the made-up credentials' telling parts, and a bearer token.
CREDENTIAL = re.compile(
    r"sk-proj-Zx9|hf_QwErTy|AKIAIOSF|hunter2|t0k3nt0k3n|pa55w0rd|Bearer (?!\[REDACTED\])"
)

OPENAI_MODES = ("e400", "e401", "e403", "e500", "headers", "ratelimit", "midstream")
HF_MODES = ("e500", "headers", "media")


def leaks(text: str) -> list[str]:
    """The secrets (or any 8 characters of one) and credentials ``text`` gives away."""
    found = [m.group(0) for m in CREDENTIAL.finditer(text)]
    lowered = text.lower()  # an echo may have changed the case
    for secret in (s.lower() for s in SECRETS):
        found += [w for w in (secret[i : i + 8] for i in range(len(secret) - 7)) if w in lowered]
    return found


def assert_clean(resp: httpx.Response) -> None:
    shown = resp.text + "\n" + "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
    assert not leaks(shown), (leaks(shown), shown)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    server = HostileUpstream()
    yield server
    server.stop()


def _model(model_id: str, provider: str, task: str = "conversational") -> dict[str, Any]:
    return {
        "id": model_id,
        "hub_model_id": f"test/{model_id}",
        "task": task,
        "routes": [{"provider": provider, "model": "m"}],
        "pricing": {"input_per_million_usd": "0.50", "output_per_million_usd": "1.50"},
    }


@pytest.fixture(scope="module", params=BACKENDS)
def gw(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    hostile: HostileUpstream,
    fresh_database: Any,
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp(f"secrets-{request.param}")
    providers: list[dict[str, Any]] = [
        {
            "name": f"o-{mode}",
            "kind": "openai",
            "base_url": hostile.base(mode),
            "api_key_env": "SK_KEY" if mode == "e401" else "PLAIN_KEY",
            "max_retries": 0,
        }
        for mode in OPENAI_MODES
    ]
    providers += [
        {
            "name": f"h-{mode}",
            "kind": "hf",
            "base_url": hostile.root(mode),
            "api_key_env": "SK_KEY",
            "max_retries": 0,
        }
        for mode in HF_MODES
    ]
    models = [_model(f"chat-{mode}", f"o-{mode}") for mode in OPENAI_MODES]
    models += [_model(f"sentiment-{m}", f"h-{m}", "text-classification") for m in HF_MODES]
    models.append(_model("embed-e401", "o-e401", "feature-extraction"))
    config = {
        "database_url": fresh_database(request.param),
        "log_level": "debug",  # the full upstream text is logged (redacted) at DEBUG
        "providers": providers,
        "models": models,
    }
    server = Gateway(workdir, config, env={"PLAIN_KEY": PLAIN_KEY, "SK_KEY": SK_KEY})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(gw: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gw.url, headers=bearer(gw.create_key("caller")), timeout=30) as c:
        yield c


@pytest.mark.parametrize(
    ("mode", "status", "said"),
    [
        ("e400", 400, "Incorrect API key provided"),  # the caller's fault: passed on
        ("e401", 502, "answered 401: Incorrect API key provided"),  # the gateway's: 502
        ("e403", 502, "answered 403: Incorrect API key provided"),
        ("e500", 502, "answered 500: Incorrect API key provided"),
        ("headers", 502, "answered 500: upstream crashed; request was"),
        ("ratelimit", 429, "slow down"),
    ],
)
def test_openai_error_bodies_are_redacted(
    http: httpx.Client, mode: str, status: int, said: str
) -> None:
    resp = http.post("/v1/chat/completions", json=chat_body(f"chat-{mode}"))
    error = openai_error(resp, status)
    assert said in error["message"]
    assert "[REDACTED]" in error["message"]
    assert len(error["message"]) <= 400  # bounded, whatever the upstream sent
    assert_clean(resp)
    if status == 429:
        assert resp.headers["retry-after"] == "1"  # the upstream's own value was no number


def test_the_error_before_a_stream_starts_is_redacted(http: httpx.Client) -> None:
    resp = http.post("/v1/chat/completions", json=chat_body("chat-e401", stream=True))
    assert "answered 401" in openai_error(resp, 502)["message"]
    assert_clean(resp)


def test_a_mid_stream_error_event_is_redacted(http: httpx.Client) -> None:
    resp = http.post("/v1/chat/completions", json=chat_body("chat-midstream", stream=True))
    assert resp.status_code == 200
    inference_id(resp)
    events = [e.removeprefix("data: ") for e in resp.text.split("\n\n") if e.strip()]
    error = json.loads(events[-1])["error"]
    assert "failed mid-stream: backend fell over: Incorrect API key" in error["message"]
    assert_clean(resp)


def test_task_helper_errors_are_redacted(http: httpx.Client) -> None:
    resp = http.post("/v1/embeddings", json={"model": "embed-e401", "input": "hi"})
    assert "answered 401: Incorrect API key provided" in openai_error(resp, 502)["message"]
    assert_clean(resp)


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("e500", "answered 500: Incorrect API key provided"),
        ("headers", "answered 500: upstream crashed"),
        ("media", "answered text/x-[REDACTED], not JSON"),
    ],
)
def test_hf_task_server_errors_are_redacted(http: httpx.Client, mode: str, said: str) -> None:
    resp = http.post(
        "/hf/tasks/text-classification", json={"model": f"sentiment-{mode}", "inputs": "ok"}
    )
    assert said in hf_error(resp, 502)
    assert_clean(resp)


def test_the_log_keeps_the_full_text_redacted_and_no_secret(
    http: httpx.Client, gw: Gateway
) -> None:
    failed = http.post("/v1/chat/completions", json=chat_body("chat-headers"))
    rid = inference_id(failed)
    http.post("/v1/chat/completions", json=chat_body("chat-midstream", stream=True))
    http.post("/hf/tasks/text-classification", json={"model": "sentiment-e500", "inputs": "ok"})
    log = gw.log.read_text(errors="replace")
    assert rid in log  # the failure is logged with its request id
    # The whole upstream text is kept at DEBUG, redacted: the header dump down to its end.
    debug = [line for line in log.splitlines() if "upstream 'o-headers' answered 500:" in line]
    assert debug and "Authorization: [REDACTED]" in debug[-1] and "Host: 127.0.0.1" in debug[-1]
    assert any("'o-midstream' failed mid-stream" in line for line in log.splitlines())
    assert any("'h-e500' answered 500" in line for line in log.splitlines())
    assert not leaks(log), leaks(log)


def test_nothing_is_written_to_disk_with_a_secret(gw: Gateway, http: httpx.Client) -> None:
    """Usage rows and every file the gateway wrote in its directory stay clean too."""
    http.post("/v1/chat/completions", json=chat_body("chat-e500"))
    for path in Path(gw.workdir).iterdir():
        if path.is_file() and path.suffix != ".yaml":
            assert not leaks(path.read_bytes().decode("latin-1")), path
