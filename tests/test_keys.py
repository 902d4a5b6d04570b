"""API keys: the CLI creates, lists and revokes them; requests authenticate with them; the
database never holds a key in plain text."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.checks import bearer, chat_body, hf_error, inference_id, openai_error
from tests.servers import PYTHON, Gateway

KEY_SHAPE = re.compile(r"^gz_[0-9a-f]+_[A-Za-z0-9_-]{20,}$")


def models_status(gateway: Gateway, key: str) -> httpx.Response:
    return httpx.get(f"{gateway.url}/v1/models", headers=bearer(key))


def test_create_prints_the_key_alone_on_the_last_line(gateway: Gateway) -> None:
    out = gateway.cli("keys", "create", "--name", "printer").stdout
    last = out.rstrip("\n").splitlines()[-1]
    assert KEY_SHAPE.match(last), out
    assert models_status(gateway, last).status_code == 200


def test_list_shows_keys_without_their_secret(gateway: Gateway) -> None:
    key = gateway.create_key("listed-admin", "--admin")
    listing = gateway.cli("keys", "list").stdout
    line = next(ln for ln in listing.splitlines() if "listed-admin" in ln)
    prefix = key.split("_")[1]
    assert prefix in line and "admin" in line and "active" in line
    assert key.split("_", 2)[2] not in listing


def test_revoke_makes_the_key_401(gateway: Gateway) -> None:
    keys = [gateway.create_key(f"to-revoke-{i}") for i in range(2)]
    for key in keys:
        assert models_status(gateway, key).status_code == 200
    listed = gateway.cli("keys", "list").stdout.splitlines()[1:]
    key_id = next(ln.split()[0] for ln in listed if "to-revoke-1" in ln)
    for ident in (keys[0], f"id:{key_id}"):  # by the whole key, by id
        assert gateway.cli("keys", "revoke", ident).returncode == 0
    for key in keys:
        error = openai_error(models_status(gateway, key), 401, "invalid_api_key")
        assert "revoked" in error["message"]
    listing = gateway.cli("keys", "list").stdout
    assert all("revoked" in ln for ln in listing.splitlines() if "to-revoke-" in ln)


def test_revoking_an_unknown_key_fails_clearly(gateway: Gateway) -> None:
    proc = gateway.cli("keys", "revoke", "gz_ffffffffffff_nope", check=False)
    assert proc.returncode != 0
    assert "no active key" in proc.stderr and "Traceback" not in proc.stderr


def test_keys_are_stored_only_as_hashes(gateway: Gateway) -> None:
    key = gateway.create_key("hashed")
    secret = key.split("_", 2)[2]
    rows = gateway.rows("SELECT * FROM api_keys")
    assert not any(key in str(v) or secret in str(v) for row in rows for v in tuple(row))
    for file in gateway.db_path.parent.glob(gateway.db_path.name + "*"):
        data = file.read_bytes()
        assert secret.encode() not in data, file


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Token abc",
        "Basic dXNlcjpwYXNz",
        "Bearer gz_nope",
        "Bearer not-a-gatewayz-key",
        "Bearer gz_000000000000_wrongwrongwrongwrongwrong",
    ],
)
def test_missing_wrong_or_malformed_key_is_401(
    gateway: Gateway, user_key: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    resp = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        json=chat_body("smol-upstream"),
        headers=headers,
    )
    openai_error(resp, 401, "invalid_api_key")
    resp = httpx.post(
        f"{gateway.url}/hf/tasks/text-generation", json={"inputs": "Hi"}, headers=headers
    )
    hf_error(resp, 401)
    assert user_key not in resp.text


def test_a_real_prefix_with_a_wrong_secret_is_401(gateway: Gateway, user_key: str) -> None:
    forged = user_key[: user_key.rindex("_") + 1] + "x" * 43
    openai_error(models_status(gateway, forged), 401, "invalid_api_key")


def test_non_admin_key_on_admin_route_is_403(
    gateway: Gateway, user_key: str, admin_key: str
) -> None:
    path = f"{gateway.url}/hf/tasks/models/no-such-model-for-403"
    resp = httpx.delete(path, headers=bearer(user_key))
    if resp.status_code in (404, 405) and "no such route" in resp.text:
        pytest.skip("this build has no admin-only route")
    assert hf_error(resp, 403)
    inference_id(resp)
    assert httpx.delete(path, headers=bearer(admin_key)).status_code != 403


@pytest.mark.parametrize(
    ("url", "command"),
    [
        # keys create may create a database, so it reaches for the missing directory;
        # keys list refuses a missing SQLite file before (tests/registry/test_sync_safety.py)
        ("sqlite:////nonexistent-dir/gw.db", ("create", "--name", "x")),
        ("postgresql://postgres@127.0.0.1:9/none", ("list",)),
    ],
)
def test_a_database_out_of_reach_is_a_clear_cli_error(
    tmp_path: Path, url: str, command: tuple[str, ...]
) -> None:
    config = tmp_path / "gatewayz.yaml"
    config.write_text(f"database_url: {url}\n")
    out = subprocess.run(
        [PYTHON, "-m", "gatewayz", "keys", *command, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert "cannot reach the database" in out.stderr and "Traceback" not in out.stderr
