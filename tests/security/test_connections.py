"""Connection limits of ``gatewayz serve`` (issue 10, "Connections"), over raw sockets
against a real gateway with short limits: half-sent requests are closed with a 408 within
the configured timeout, idle kept-alive connections are closed, a flood of connections is
refused at once beyond the caps without hurting the server, and normal requests and long
streamed responses are untouched by any of it."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gatewayz.config import ConfigError, ServerSettings, parse_settings
from gatewayz.servers import connection_cap
from tests.billing.conftest import FakeUpstream
from tests.checks import bearer
from tests.servers import PYTHON, Gateway

HEADER_S, BODY_S, IDLE_S = 1.0, 1.5, 2.0
MAX_CONNECTIONS, PER_IP = 50, 30
SLACK_S = 0.7
LIMITS = {
    "header_timeout_s": HEADER_S,
    "body_timeout_s": BODY_S,
    "keep_alive_s": IDLE_S,
    "max_connections": MAX_CONNECTIONS,
    "max_connections_per_ip": PER_IP,
}


def gateway_config(workdir: Path, upstream: FakeUpstream, **server: Any) -> dict[str, Any]:
    return {
        "database_url": f"sqlite:///{workdir / 'gw.db'}",
        "providers": [{"name": "fake", "kind": "openai", "base_url": upstream.base_url}],
        "models": [
            {
                "id": model,
                "hub_model_id": f"test/{model}",
                "task": "conversational",
                "routes": [{"provider": "fake", "model": model}],
                "pricing": {"input_per_million_usd": "0.50"},
            }
            for model in ("fast", "slow")
        ],
        "server": server,
    }


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeUpstream]:
    server = FakeUpstream(tmp_path_factory.mktemp("upstream"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("limited")
    server = Gateway(workdir, gateway_config(workdir, upstream, **LIMITS))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return gateway.create_key("conn")


def connect(gateway: Gateway, payload: bytes = b"", source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gateway.port), source_address=(source, 0))
    if payload:
        sock.sendall(payload)
    return sock


def read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when that was."""
    started = time.monotonic()
    sock.settimeout(limit_s)
    data = b""
    with contextlib.closing(sock):
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            pytest.fail(f"still open after {limit_s} s; received {data[:200]!r}")
    return data, time.monotonic() - started


def read_response(sock: socket.socket) -> int:
    """Reads one response with a Content-Length; returns its status."""
    sock.settimeout(10)
    raw = b""
    while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < int(
        parse(raw)[1]["content-length"]
    ):
        chunk = sock.recv(65536)
        assert chunk, f"closed after {raw!r}"
        raw += chunk
    return parse(raw)[0]


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def post_head(path: str, key: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


CHAT = orjson.dumps({"model": "fast", "messages": [{"role": "user", "content": "hi"}]})


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /v1/chat/compl", b"GET /health HTTP/1.1\r\nHost: gw\r\nUser-Agent: slo"],
    ids=["nothing", "half a request line", "half the headers"],
)
def test_half_sent_request_head_is_closed_with_408(gateway: Gateway, sent: bytes) -> None:
    raw, elapsed = read_until_closed(connect(gateway, sent), HEADER_S + 5)
    assert HEADER_S - 0.1 <= elapsed <= HEADER_S + SLACK_S
    status, headers, body = parse(raw)
    assert status == 408 and headers["connection"] == "close"
    assert "headers did not arrive within 1 s" in orjson.loads(body)["error"]


def test_headers_trickled_byte_by_byte_are_still_closed_at_the_header_timeout(
    gateway: Gateway,
) -> None:
    sock = connect(gateway, b"G")
    started = time.monotonic()
    with contextlib.suppress(OSError):  # the server hangs up while we are still sending
        for byte in b"ET /health HTTP/1.1\r\nHost: gw\r\n":
            time.sleep(0.1)
            sock.send(bytes([byte]))
    raw, _ = read_until_closed(sock, 5)
    assert time.monotonic() - started <= HEADER_S + SLACK_S
    assert parse(raw)[0] == 408


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickled"])
def test_half_sent_body_is_closed_with_408_and_the_request_id(
    gateway: Gateway, key: str, trickle: bool
) -> None:
    sock = connect(gateway, post_head("/v1/chat/completions", key, len(CHAT)) + CHAT[:10])
    started = time.monotonic()
    if trickle:  # a byte every 0.2 s never completes the body in time
        with contextlib.suppress(OSError):
            for byte in CHAT[10:-1]:
                time.sleep(0.2)
                sock.send(bytes([byte]))
    raw, _ = read_until_closed(sock, BODY_S + 5)
    assert BODY_S - 0.1 <= time.monotonic() - started <= BODY_S + SLACK_S
    status, headers, body = parse(raw)
    assert status == 408 and headers["connection"] == "close"
    error = orjson.loads(body)["error"]
    assert error["code"] == "request_timeout" and "1.5 s" in error["message"]
    assert error["request_id"] == headers["inference-id"]
    # The app's read failed quietly: no 500, no traceback.
    time.sleep(0.2)
    log = gateway.log.read_text()
    assert "Traceback" not in log and "Exception in ASGI" not in log


def test_client_leaving_mid_body_ends_the_request_quietly(gateway: Gateway, key: str) -> None:
    sock = connect(gateway, post_head("/v1/chat/completions", key, len(CHAT)) + CHAT[:10])
    time.sleep(0.3)  # the app is waiting for the rest
    sock.close()
    assert health(gateway, "127.0.0.1") < 1
    time.sleep(0.2)
    log = gateway.log.read_text()
    assert "Traceback" not in log and "crashed" not in log


def test_idle_keep_alive_connection_is_closed(gateway: Gateway) -> None:
    sock = connect(gateway, b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
    assert read_response(sock) == 200
    raw, elapsed = read_until_closed(sock, IDLE_S + 5)
    assert raw == b"" and IDLE_S - 0.1 <= elapsed <= IDLE_S + SLACK_S


def test_blank_lines_do_not_keep_an_idle_connection_open(gateway: Gateway) -> None:
    sock = connect(gateway, b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
    assert read_response(sock) == 200
    started = time.monotonic()
    with contextlib.suppress(OSError):
        while time.monotonic() - started < IDLE_S + 2:
            sock.send(b"\r\n")
            time.sleep(0.3)
    read_until_closed(sock, 5)
    assert time.monotonic() - started <= IDLE_S + SLACK_S


def test_normal_requests_and_long_streams_are_unaffected(gateway: Gateway, key: str) -> None:
    with httpx.Client(base_url=gateway.url, headers=bearer(key), timeout=30) as client:
        # Requests on one kept-alive connection, with pauses shorter than the idle timeout.
        for _ in range(2):
            resp = client.post("/v1/chat/completions", content=CHAT)
            assert resp.status_code == 200 and resp.json()["usage"]["prompt_tokens"] == 1
            time.sleep(IDLE_S / 4)
        # A stream lasting longer than every timeout (50 tokens, 0.05 s each) completes.
        body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}]}
        started = time.monotonic()
        with client.stream(
            "POST", "/v1/chat/completions", json={**body, "stream": True, "max_tokens": 50}
        ) as stream:
            assert stream.status_code == 200
            events = [line for line in stream.iter_lines() if line.startswith("data: ")]
        assert time.monotonic() - started > IDLE_S
        assert events[-1] == "data: [DONE]" and len(events) >= 51
    # A body sent in two parts, well within the body timeout, is read in full.
    sock = connect(gateway, post_head("/v1/chat/completions", key, len(CHAT)) + CHAT[:10])
    time.sleep(BODY_S / 2)
    sock.sendall(CHAT[10:])
    assert read_response(sock) == 200
    sock.close()


def open_fds(gateway: Gateway) -> int:
    return len(os.listdir(f"/proc/{gateway.proc.pid}/fd"))


def refused(sock: socket.socket) -> bool:
    """Whether the server answered this connection 503 or hung up on it already."""
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 503 ")


def readable(socks: list[socket.socket], count: int, deadline: float) -> list[socket.socket]:
    """The sockets with something to read, once ``count`` have or at ``deadline``."""
    while True:
        ready, _, _ = select.select(socks, [], [], 0)
        if len(ready) >= count or time.monotonic() >= deadline:
            return ready
        time.sleep(0.02)


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(1)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def health(gateway: Gateway, source: str) -> float:
    """Seconds a /health call from ``source`` took (it must answer 200)."""
    transport = httpx.HTTPTransport(local_address=source)
    started = time.monotonic()
    with httpx.Client(transport=transport, timeout=5) as client:
        assert client.get(f"{gateway.url}/health").status_code == 200
    return time.monotonic() - started


def test_connection_flood_is_refused_at_once_and_the_server_recovers(gateway: Gateway) -> None:
    idle_fds = open_fds(gateway)
    with contextlib.ExitStack() as stack:
        started = time.monotonic()
        # 500 half-sent requests from one address: only PER_IP are let in...
        flood = [stack.enter_context(connect(gateway)) for _ in range(500)]
        for sock in flood:
            with contextlib.suppress(OSError):
                sock.send(b"GET /hea")
        # ...so another address still gets in (and fills the process's cap)...
        others = [
            stack.enter_context(connect(gateway, b"GET /hea", "127.0.0.2"))
            for _ in range(MAX_CONNECTIONS - PER_IP)
        ]
        # The rest of the flood is refused at once (well before any header timeout)...
        answered = readable(flood, 500 - PER_IP, started + HEADER_S - 0.2)
        assert len(answered) == 500 - PER_IP and all(refused(s) for s in answered)
        assert not select.select(others, [], [], 0)[0]
        # ...and beyond the process's cap, a third address is refused at once too.
        late = stack.enter_context(
            connect(gateway, b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n", "127.0.0.3")
        )
        assert readable([late], 1, time.monotonic() + 0.3) and refused(late)
        assert open_fds(gateway) <= idle_fds + MAX_CONNECTIONS + 5
        # Once the header timeout has closed the admitted ones, everything is back.
        time.sleep(max(0.0, started + HEADER_S + 0.5 - time.monotonic()))
        assert health(gateway, "127.0.0.3") < 0.5
        assert health(gateway, "127.0.0.1") < 0.5
        assert open_fds(gateway) <= idle_fds + 2
        assert all(closed_by_server(sock) for sock in [*flood, *others])


def test_limits_apply_with_several_workers(tmp_path: Path, upstream: FakeUpstream) -> None:
    gateway = Gateway(tmp_path, gateway_config(tmp_path, upstream, **LIMITS), workers=2)
    try:
        assert health(gateway, "127.0.0.1") < 1
        raw, elapsed = read_until_closed(connect(gateway, b"GET /he"), HEADER_S + 5)
        assert parse(raw)[0] == 408 and elapsed <= HEADER_S + SLACK_S
    finally:
        gateway.stop()


def test_granian_closes_half_sent_headers_and_bodies(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    config = gateway_config(tmp_path, upstream, **LIMITS)
    gateway = Gateway(tmp_path, config, server="granian")
    try:
        # Headers: granian's own header read timeout, which closes without an answer.
        raw, elapsed = read_until_closed(connect(gateway, b"GET /health HTTP/1.1\r\nHo"), 5)
        assert raw == b"" and HEADER_S - 0.1 <= elapsed <= HEADER_S + SLACK_S
        # Body: the app's own deadline answers 408, and granian closes the connection.
        key = gateway.create_key("g")
        head = post_head("/v1/chat/completions", key, len(CHAT))
        raw, elapsed = read_until_closed(connect(gateway, head + CHAT[:10]), BODY_S + 5)
        assert BODY_S - 0.1 <= elapsed <= BODY_S + SLACK_S
        status, headers, body = parse(raw)
        assert status == 408
        assert orjson.loads(body)["error"]["request_id"] == headers["inference-id"]
        # A stream longer than the body timeout is not cut by it.
        with httpx.stream(
            "POST",
            f"{gateway.url}/v1/chat/completions",
            headers=bearer(key),
            json={
                "model": "slow",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
                "max_tokens": 40,
            },
            timeout=30,
        ) as stream:
            assert stream.status_code == 200
            assert [line for line in stream.iter_lines() if line][-1] == "data: [DONE]"
    finally:
        gateway.stop()


def test_limits_are_validated() -> None:
    for bad in ({"header_timeout_s": 0}, {"max_connections": 0}, {"max_connections_per_ip": 0}):
        with pytest.raises(ConfigError, match=r"server\.") as err:
            parse_settings({"server": bad}, {})
        assert next(iter(bad)) in str(err.value)


def test_connection_cap_stays_below_the_file_limit() -> None:
    assert connection_cap(ServerSettings(), 1_000_000) == 4096
    assert connection_cap(ServerSettings(), 1024) == 512
    # Start-up raises the soft file limit to the hard one.
    script = (
        "import resource as r\n"
        "soft, hard = r.getrlimit(r.RLIMIT_NOFILE)\n"
        "r.setrlimit(r.RLIMIT_NOFILE, (256, hard))\n"
        "from gatewayz.servers import raise_file_limit\n"
        "print(raise_file_limit() == hard == r.getrlimit(r.RLIMIT_NOFILE)[0])\n"
    )
    out = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
