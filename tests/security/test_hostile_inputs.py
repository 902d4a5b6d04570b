"""Inputs that used to answer 500 (issue 10) get a clear 4xx with the request id, on SQLite
and on PostgreSQL, against a real gateway and the deterministic fake upstream."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import asyncpg
import httpx
import pytest

from tests.billing.conftest import Env, auth
from tests.checks import error_message, hf_error, inference_id, openai_error

DEPTH_LIMIT = 64
CHAT = "/v1/chat/completions"


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` deep (built as text: the client's encoder recurses)."""
    return "[" * depth + '"x"' + "]" * depth


def post_raw(env: Env, path: str, key: str, body: str) -> httpx.Response:
    headers = {**auth(key), "Content-Type": "application/json"}
    return httpx.post(env.url + path, content=body.encode(), headers=headers, timeout=60)


def error_text(resp: httpx.Response, status: int) -> str:
    """The message of either error shape, checked to carry the request id."""
    return error_message(resp, status)


DEEP_BODIES = [
    (CHAT, '{"model": "example-chat", "messages": [{"role": "user", "content": %s}]}'),
    (
        CHAT,
        '{"model": "example-chat", "messages": [{"role": "user", "content": "hi"}], "tools": %s}',
    ),
    ("/v1/completions", '{"model": "example-chat", "prompt": %s}'),
    ("/v1/embeddings", '{"model": "example-chat", "input": %s}'),
    ("/hf/tasks/text-classification", '{"inputs": %s}'),
    ("/hf/tasks/conversational", '{"model": "example-chat", "inputs": %s}'),
    ("/hf/tasks/run", '{"task": "summarization", "inputs": %s}'),
    ("/models/example/example-chat", '{"inputs": %s}'),
    ("/hf/tasks/billing/cost", '{"requests": %s}'),
]


@pytest.mark.parametrize("depth", [300, 1000, 5000])
@pytest.mark.parametrize(("path", "template"), DEEP_BODIES)
def test_deeply_nested_json_is_a_400(env: Env, path: str, template: str, depth: int) -> None:
    resp = post_raw(env, path, env.user, template % nested(depth))
    message = error_text(resp, 400)
    assert "deeper than the limit of 64" in message or "depth limit" in message


def test_nesting_up_to_the_limit_is_accepted(env: Env) -> None:
    # The body object is depth 1, messages 2, the message 3, content 4, the part 5: an
    # array nested 59 deep in the part reaches the limit of 64 exactly.
    template = (
        '{"model": "example-chat", "max_tokens": 2, "messages": [{"role": "user", '
        '"content": [{"type": "text", "text": "hi", "x": %s}]}]}'
    )
    assert post_raw(env, CHAT, env.user, template % nested(DEPTH_LIMIT - 5)).status_code == 200
    too_deep = post_raw(env, CHAT, env.user, template % nested(DEPTH_LIMIT - 4))
    assert "limit of 64" in error_text(too_deep, 400)


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "²"},
        {"limit": "-1"},
        {"limit": "0"},
        {"limit": "9" * 5000},
        {"limit": "\uff11\uff10"},  # fullwidth digits, which int() would take
        {"api_key_id": "²"},
        {"api_key_id": "-3"},
        {"api_key_id": str(2**63 - 1)},
        {"api_key_id": "9" * 5000},
        {"start": "9999-12-31T23:59:59-23:59"},
        {"end": "0001-01-01T00:00:00+23:59"},
        {"start": "not a time"},
        {"model": "a\x00b"},
        {"task": "\x00"},
        {"cursor": "\x00"},
        # base64 of ["2024-01-01T00:00:00", "a\u0000b"] and of a time past year 9999 in UTC
        {"cursor": "WyIyMDI0LTAxLTAxVDAwOjAwOjAwIiwiYVx1MDAwMGIiXQ"},
        {"cursor": "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTIzOjU5IiwiYSJd"},
        {"cursor": "bm90IGpzb24"},
    ],
)
def test_bad_usage_filters_are_a_400(env: Env, query: dict[str, str]) -> None:
    for key in (env.admin, env.user):
        hf_error(env.get("/hf/tasks/billing/usage", key, **query), 400)


def test_usage_dates_near_the_ends_of_the_calendar_work(env: Env) -> None:
    for start, end in [("0001-01-01", "9999-12-31T23:59:59"), ("0001-01-01T00:00:00Z", "")]:
        r = env.get("/hf/tasks/billing/usage", env.user, start=start, end=end)
        assert r.status_code == 200, r.text


def test_audit_limit_is_bounded(env: Env) -> None:
    for limit in ("²", "0", "9" * 400, "-1"):
        hf_error(env.get("/hf/tasks/models/audit", env.admin, limit=limit), 400)


def _quote(env: Env, **counts: Any) -> httpx.Response:
    item = {"task": "conversational", "model": "example-all-prices", **counts}
    return env.post("/hf/tasks/billing/cost", env.user, {"requests": [item]})


@pytest.mark.parametrize("count", [2**63 - 1, 2**63, 2**64, 10**30, -1, 10**12 + 1])
@pytest.mark.parametrize("field", ["input_tokens", "output_tokens", "images", "input_chars"])
def test_cost_counts_are_bounded(env: Env, field: str, count: int) -> None:
    message = hf_error(_quote(env, **{field: count}), 422)
    assert field in message


def test_the_largest_quote_is_exact(env: Env) -> None:
    top = 10**12
    r = _quote(env, input_tokens=top, output_tokens=top, images=top, input_chars=top)
    assert r.status_code == 200, r.text
    # 0.50 + 1.50 USD per million tokens, 0.004 per image, 0.0001 per request, 0.015 per 1k chars
    expected = (top // 10**6 * 2 + top * 4 // 1000 + top * 15 // 1000 // 1000) * 10**9 + 100_000
    assert r.json()["total_cost_nano_usd"] == expected


def test_nul_request_ids_match_nothing(env: Env) -> None:
    served = env.chat(env.partner, words=2, max_tokens=2)
    rid = inference_id(served)
    ids = [rid, "a\x00b", "\x00", rid + "\x00"]
    assert env.costs(env.partner, ids) == {rid: env.costs(env.partner, [rid])[rid]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/models/example%00chat"),
        ("POST", "/models/example-chat%00/v1/chat/completions"),
        ("POST", "/hf/tasks/text%00classification"),
        ("DELETE", "/hf/tasks/models/x%00y"),
        ("PUT", "/hf/tasks/models/x%00y/status"),
        ("GET", "/hf/tasks/models/audit?model_id=x%00y"),
        ("GET", "/hf/tasks/models?task_type=%00"),
    ],
)
def test_nul_in_the_url_is_a_400(env: Env, method: str, path: str) -> None:
    body = {"status": "live", "inputs": "hi"}
    r = httpx.request(method, env.url + path, json=body, headers=auth(env.admin), timeout=30)
    assert "NUL" in error_text(r, 400)


def test_nul_in_body_ids_is_a_4xx(env: Env) -> None:
    r = env.post(CHAT, env.user, {"model": "example\x00chat", "messages": [{"role": "user"}]})
    openai_error(r, 404, "model_not_found")
    mapping = _mapping("nul-route", "0.1")
    mapping["routes"] = [{"provider": "fake", "model": "fa\x00st"}]
    assert "NUL" in hf_error(env.post("/hf/tasks/models/map", env.admin, mapping), 400)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"context_length": 2**31}, "context_length"),
        ({"routes": [{"provider": "fake", "model": "fast", "priority": 2**31}]}, "priority"),
        ({"routes": [{"provider": "fake", "model": "fast", "weight": 2**31}]}, "weight"),
        ({"routes": [{"provider": "fake", "model": "x" * 300}]}, "routes[0].model"),
        ({"provider_model_id": "a\x00b"}, "NUL"),
        ({"tokenizer": "/models/\x00.json"}, "NUL"),
    ],
)
def test_mappings_that_do_not_fit_the_database_are_a_400(
    env: Env, change: dict[str, Any], field: str
) -> None:
    # Each of these was a 500 on PostgreSQL (a 32-bit column, a 200-character column, NUL).
    mapping = {**_mapping("too-big", "0.1"), **change}
    assert field in hf_error(env.post("/hf/tasks/models/map", env.admin, mapping), 400)


def _mapping(model_id: str, price: Any) -> dict[str, Any]:
    return {
        "provider_model_id": model_id,
        "hub_model_id": f"example/{model_id}",
        "task_type": "conversational",
        "status": "live",
        "force": True,
        "routes": [{"provider": "fake", "model": "fast"}],
        "pricing": {"input_per_million_usd": price},
    }


@pytest.mark.parametrize(
    "price",
    [
        "1e999",
        "1e-999",
        "NaN",
        "Infinity",
        "-Infinity",
        "sNaN",
        "-1",
        "1000000.000000000001",
        "1e99999999999999999999",
        "1" * 400,
        "0.0000000000001",
        1.5,
        True,
        None,
    ],
)
def test_bad_prices_are_refused(env: Env, price: Any) -> None:
    model_id = "bad-price"
    message = hf_error(env.post("/hf/tasks/models/map", env.admin, _mapping(model_id, price)), 400)
    assert "pricing.input_per_million_usd" in message
    openai_error(env.chat(env.user, model=model_id), 404, "model_not_found")
    assert env.chat(env.user).status_code == 200


@pytest.mark.parametrize(
    ("price", "shown"),
    [
        ("-0", "0"),
        ("1000000", "1000000"),
        ("0.000000000001", "1E-12"),
        ("0.50000000000000000000000000000000000000000000", "0.500000000000"),
    ],
)
def test_edge_prices_are_stored_exactly(env: Env, price: str, shown: str) -> None:
    model_id = "edge-price"
    r = env.post("/hf/tasks/models/map", env.admin, _mapping(model_id, price))
    assert r.status_code in (200, 201), r.text
    assert r.json()["pricing"]["input_per_million_usd"] == shown
    assert env.chat(env.user, model=model_id, words=3, max_tokens=2).status_code == 200


def _write_db(env: Env, sql: str) -> None:
    if env.backend == "sqlite":
        with sqlite3.connect(env.gw.db_path) as db:
            db.execute(sql)
        return

    async def run() -> None:
        conn = await asyncpg.connect(env.database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def test_a_bad_price_left_in_the_database_fails_only_its_model(env: Env) -> None:
    model_id = "legacy-priced"
    r = env.post("/hf/tasks/models/map", env.admin, _mapping(model_id, "0.10"))
    assert r.status_code in (200, 201), r.text
    # What an older version accepted; the registry's change counter tells instances to reload.
    _write_db(
        env,
        f"UPDATE registry_models SET input_per_million_usd = '1e999' WHERE id = '{model_id}'",
    )
    _write_db(env, "UPDATE registry_state SET version = version + 1")
    deadline = time.monotonic() + 10
    while True:
        resp = env.chat(env.user, model=model_id)
        if resp.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    error = openai_error(resp, 503, "model_unavailable")
    assert "pricing is invalid" in error["message"] and "1e999" not in resp.text.lower()
    assert env.chat(env.user).status_code == 200  # every other model is served
    assert env.get("/v1/models", env.user).status_code == 200
    assert env.get("/hf/tasks/models", env.user).status_code == 200
    quote = env.post(
        "/hf/tasks/billing/cost",
        env.user,
        {"requests": [{"task": "conversational", "model": model_id, "input_tokens": 1}]},
    )
    hf_error(quote, 422)
    assert f"model '{model_id}' is not served" in env.gw.log.read_text()
    # An admin corrects it through the API, and the model is served again.
    r = env.post("/hf/tasks/models/map", env.admin, _mapping(model_id, "0.20"))
    assert r.status_code == 200, r.text
    assert env.chat(env.user, model=model_id).status_code == 200


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--start", "9999-12-31T23:59:59-23:59"], "outside the years"),
        (["--end", "not-a-time"], "not an ISO 8601 time"),
        (["--api-key-id", "²"], "--api-key-id must be an integer"),
        (["--api-key-id", "9" * 40], "--api-key-id must be an integer"),
        (["--api-key-id", "-1"], "--api-key-id"),
    ],
)
def test_usage_export_refuses_bad_values_without_a_traceback(
    env: Env, args: list[str], fragment: str
) -> None:
    out = env.gw.cli("usage", "export", *env.gw.config_args, *args, check=False)
    assert out.returncode != 0
    assert fragment in out.stderr
    assert "Traceback" not in out.stderr
