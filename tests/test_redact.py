"""The redactor's rules (gatewayz.redact), one example each; the end-to-end proof that
nothing leaks through a real gateway is tests/security/test_secrets.py."""

from __future__ import annotations

import logging
import time

import pytest

from gatewayz.app import secrets_of
from gatewayz.config import parse_settings
from gatewayz.redact import CALLER_MAX_CHARS, LOG_MAX_CHARS, MARK, RedactingFilter, Redactor

KEY = "Zq7vR2mL9xT4nB8kW1pY6cH3sD5fG0jA"
redactor = Redactor([KEY, "tiny", None, ""])


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {KEY}.",
        f"key {KEY[:10]}...{KEY[-10:]} (elided)",
        f"truncated {KEY[:-5]}",
        f"last characters {KEY[-9:]}",
        f"a NUL inside {KEY[:5]}\x00{KEY[5:]}",
        f'a raw JSON body: {{"error": "{KEY[:5]}\\u0000{KEY[5:]}"}}',
        f"lower-cased {KEY.lower()}",
    ],
)
def test_a_configured_secret_and_its_partial_echoes(text: str) -> None:
    out = redactor.for_caller(text)
    assert MARK in out
    key, shown = KEY.lower(), out.lower()
    assert not any(key[i : i + 8] in shown for i in range(len(key) - 7)), out


def test_a_url_encoded_secret_counts_as_the_secret() -> None:
    out = Redactor(["ab/cd+ef=gh/12345"]).redact("sent ?key=ab%2Fcd%2Bef%3Dgh%2F12345 back")
    assert out == f"sent ?key={MARK} back"


def test_a_short_secret_is_redacted_where_whole() -> None:
    assert redactor.redact("a tiny key") == f"a {MARK} key"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Incorrect API key provided: sk-proj-abc...wxyz. See docs.", "Incorrect API key provided"),
        ("sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA and sk-abc...wxyz", " and "),
        ("token hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567 expired", " expired"),
        ("hf_****xyz was rejected", " was rejected"),
        ("caller gz_0123456789ab_8yS0c1yQk2Jr-x_T3vB9 sent it", "caller "),
        ("aws AKIAIOSFODNN7EXAMPLE denied", "aws "),
        ("github ghp_abcdefghijklmnopqrstuvwxyz0123 no", "github "),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end", " end"),
        ("got Bearer abc.def-ghi, expected none", "got Bearer "),
        ("Basic dXNlcjpwYXNzd29yZA== refused", " refused"),
        ("GET / HTTP/1.1\r\nAuthorization: Token abc\r\nHost: up", "Host: up"),
        ("x-api-key: abc123\napi-key: q", "x-api-key: "),
        ('{"api_key": "abc\\"def", "model": "m"}', '"model": "m"'),
        ("{'Authorization': 'Bearer abc', 'Accept': '*/*'}", "'Accept': '*/*'"),
        ("GET /x?user=a&password=hunter2&token=t0k&page=2", "&page=2"),
        ("postgresql://gw:s3cr3tpw@db:5432/x failed", "@db:5432/x failed"),
    ],
)
def test_credential_shaped_text_it_does_not_know(text: str, kept: str) -> None:
    out = Redactor().redact(text)
    assert MARK in out and kept in out, out
    for secret in (
        "abc...wxyz",
        "AbCdEfGh",
        "****xyz",
        "8yS0c1yQ",
        "IOSFODNN",
        "abcdefghij",
        "eyJzdWIi",
        "abc.def",
        "dXNlcjpw",
        "Token abc",
        "abc123",
        'abc\\"def',
        "Bearer abc",
        "hunter2",
        "t0k",
        "s3cr3tpw",
    ):
        assert secret not in out, (secret, out)


def test_ordinary_text_is_left_alone() -> None:
    text = "the model crashed: max_tokens=16, prompt_tokens: 3, task-force, scikit-learn"
    assert Redactor([KEY]).redact(text) == text


def test_callers_get_one_bounded_line_without_control_characters() -> None:
    out = redactor.for_caller("line one\r\nline\ttwo\x1b[31m red \u202e" + "x" * 5000)
    assert out.startswith("line one line two[31m red xxx")
    assert len(out) == CALLER_MAX_CHARS and out.endswith("\u2026")


def test_the_log_filter_redacts_messages_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("gatewayz", logging.ERROR, __file__, 1, "said %s", (KEY,), None)
    try:
        raise ValueError(f"upstream said {KEY}")
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert RedactingFilter(redactor).filter(record)
    line = logging.Formatter().format(record)
    assert KEY[:8] not in line and "ValueError: upstream said [REDACTED]" in line


def test_the_gateway_knows_its_provider_keys_and_database_password() -> None:
    settings = parse_settings(
        {
            "database_url": "postgresql://gw:p%40ss-w0rd-123@db:5432/gatewayz",
            "providers": [
                {"name": "up", "kind": "openai", "base_url": "http://u/v1", "api_key_env": "UP_KEY"}
            ],
        },
        {"UP_KEY": KEY},
    )
    redactor = secrets_of(settings)
    said = redactor.redact(f"auth failed for p@ss-w0rd-123 with {KEY[3:20]}")
    assert said == f"auth failed for {MARK} with {MARK}"


@pytest.mark.parametrize(
    "unit",
    ['token: "' + "a\\" * 4, "token:'", "x-api-key", "authorization:\n", "sk-", "Bearer ", "//a:"],
)
def test_hostile_text_cannot_make_it_slow(unit: str) -> None:
    """No pattern backtracks badly: the longest text looked at takes milliseconds."""
    started = time.perf_counter()
    redactor.for_caller(unit * (LOG_MAX_CHARS // len(unit)))
    assert time.perf_counter() - started < 1.0
