"""An unexpected exception (here: a usage row corrupted behind the gateway's back) is one
log line with its traceback and request id, a JSON 500 with that id, and the keep-alive
connection stays usable."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.servers import Gateway

GET_USAGE = b"GET /hf/tasks/billing/usage HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\n\r\n"
GET_HEALTH = b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("crash")
    config = {"database_url": f"sqlite:///{workdir / 'gw.db'}", "providers": [], "models": []}
    gw = Gateway(workdir, config)
    yield gw
    gw.stop()


def read_response(sock: socket.socket, pending: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body, read off a kept-alive socket."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    assert len(body) == length
    return int(lines[0].split()[1]), headers, body


def test_a_crash_is_logged_once_and_the_connection_stays(gateway: Gateway) -> None:
    key = gateway.create_key("victim")
    key_id = gateway.rows("SELECT id FROM api_keys WHERE name = 'victim'")[0]["id"]
    with contextlib.closing(sqlite3.connect(gateway.db_path)) as db, db:
        db.execute(
            "INSERT INTO usage_records (request_id, api_key_id, created_at, route, model, task,"
            " provider, input_tokens, output_tokens, images, input_chars, cost_nano_usd,"
            " latency_ms, status) VALUES ('corrupt', ?, 'not a time', 'r', 'm', 't', 'p',"
            " 0, 0, 0, 0, 0, 0, 200)",
            (key_id,),
        )
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(GET_USAGE % key.encode())
        status, headers, body = read_response(sock)
        assert status == 500
        rid = headers["inference-id"]
        assert headers.get("connection", "keep-alive") != "close"
        error = orjson.loads(body)
        assert error == {"error": error["error"], "request_id": rid}
        assert "Traceback" not in error["error"] and "not a time" not in error["error"]
        # The same connection answers the next request.
        sock.sendall(GET_HEALTH)
        assert read_response(sock)[0] == 200
    log = gateway.log.read_text()
    assert log.count("Traceback") == 1, log
    crash_lines = [line for line in log.splitlines() if rid in line]
    assert len(crash_lines) == 1 and "crashed" in crash_lines[0], log
