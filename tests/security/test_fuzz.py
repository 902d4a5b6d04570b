"""Property-based fuzz of every route's inputs (issue 10), against a real gateway on SQLite
and on PostgreSQL in front of the deterministic fake upstream.

For every route in the app's route table, hypothesis sends hostile requests - valid bodies
with fields dropped, retyped or replaced by hostile values (huge and negative numbers,
NaN tokens, NUL and invalid UTF-8, long strings, deep nesting), arbitrary JSON, broken
bytes, hostile query strings and path parameters - with admin, partner, standard, bad and
no keys. Every answer must be below 500, every error must carry the request id of its
``Inference-Id`` header, and the gateway must stay up.

Derandomized, so a run is reproducible; ``GATEWAYZ_FUZZ_EXAMPLES=500`` runs it longer.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from gatewayz.routes import ROUTES
from gatewayz.tasks import ALL_TASKS
from tests.billing.conftest import Env
from tests.checks import route_family

EXAMPLES = int(os.environ.get("GATEWAYZ_FUZZ_EXAMPLES", "80"))

CHAT = {"model": "example-chat", "messages": [{"role": "user", "content": "hello"}]}
MAPPING = {
    "provider_model_id": "fuzz-model",
    "hub_model_id": "example/fuzz-model",
    "task_type": "conversational",
    "tasks": ["text-generation"],
    "status": "live",
    "force": True,
    "routes": [{"provider": "fake", "model": "fast", "priority": 0, "weight": 1}],
    "pricing": {"input_per_million_usd": "0.5", "output_per_million_usd": "1.5"},
    "context_length": 4096,
}
# A valid request of every route (the body of POST/PUT routes, the query names of GET
# routes): the fuzz starts from it and breaks it. A new route without an entry fails
# ``test_every_route_has_a_strategy`` and its own fuzz run.
SEEDS: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {**CHAT, "max_tokens": 3, "stream": False, "n": 1},
    "/v1/completions": {"model": "example-chat", "prompt": "hello", "max_tokens": 3},
    "/v1/models": {},
    "/v1/responses": {
        "model": "example-chat",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hello"}]}],
        "instructions": "Be brief.",
        "max_output_tokens": 3,
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    },
    "/v1/messages": {
        "model": "example-chat",
        "max_tokens": 3,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        "stop_sequences": ["x"],
    },
    "/v1/messages/count_tokens": {
        "model": "example-chat",
        "messages": [{"role": "user", "content": "hello"}],
    },
    "/v1/embeddings": {"model": "example-chat", "input": ["hello"], "dimensions": 8},
    "/v1/images/generations": {"model": "example-chat", "prompt": "a cat", "n": 1},
    "/hf/tasks/billing/cost": {
        "requests": [
            {
                "task": "conversational",
                "model": "example-all-prices",
                "input_tokens": 3,
                "output_tokens": 2,
                "images": 1,
                "input_chars": 10,
            }
        ]
    },
    "/hf/tasks/billing/usage": {},
    "/v1/billing/requests": {"requestIds": ["00000000-0000-4000-8000-000000000000"]},
    "/v1/billing/balance": {},
    "/hf/tasks/text-generation": {
        "model": "example-chat",
        "inputs": "hello",
        "parameters": {"max_new_tokens": 3, "details": True},
    },
    "/hf/tasks/conversational": {**CHAT, "parameters": {"max_tokens": 3}},
    "/hf/tasks/models": {},
    "/hf/tasks/models/audit": {},
    "/hf/tasks/models/registry": {},
    "/hf/tasks/models/routes": {},
    "/hf/tasks/models/map": MAPPING,
    "/hf/tasks/models/{model_id:path}/status": {"status": "live"},
    "/hf/tasks/models/{model_id:path}/checks": {
        "probes": [{"probe": "call", "client": "python", "result": "pass", "latency_ms": 5}],
        "changed_at": "2026-01-01T00:00:00+00:00",
    },
    "/hf/tasks/models/{model_id:path}": {},
    "/health": {},
    "/ready": {},
    "/metrics": {},
    "/openapi.json": {},
    "/docs": {},
    "/docs/assets/{name}": {},
    "/hf/tasks/run": {"task": "text-classification", "inputs": "hello"},
    "/hf/tasks/{task}": {"inputs": "hello", "parameters": {"top_k": 2}},
    "/models/{model_id:path}/v1/chat/completions": {**CHAT, "max_tokens": 3},
    "/models/{model_id:path}/v1/completions": {"prompt": "hello", "max_tokens": 3},
    "/models/{model_id:path}/pipeline/{task}": {"inputs": "hello"},
    "/models/{model_id:path}": {"inputs": "hello", "parameters": {"max_new_tokens": 3}},
    # The dashboard, without its session cookie: pages redirect, changes and data are 401.
    "/dashboard": {},
    "/dashboard/login": {"key": "gz_x_y"},
    "/dashboard/logout": {},
    "/dashboard/assets/{name}": {},
    "/dashboard/api/session": {},
    "/dashboard/api/series": {},
    "/dashboard/api/usage": {},
    "/dashboard/api/usage.csv": {},
    "/dashboard/api/models": {},
    "/dashboard/api/errors": {},
    "/dashboard/api/routes": {},
    "/dashboard/api/keys": {"name": "fuzz", "role": "standard", "balance_usd": "1"},
    "/dashboard/api/keys/{key_id}/revoke": {},
    "/dashboard/api/keys/{key_id}/credit": {"usd": "1"},
    "/dashboard/api/keys/{key_id}/limits": {"rpm": 1, "tpm": None},
}
# The query parameters each route reads; every route is also sent the others.
QUERIES: dict[str, tuple[str, ...]] = {
    "/hf/tasks/billing/usage": ("limit", "api_key_id", "start", "end", "model", "task", "cursor"),
    "/hf/tasks/models": ("task_type", "status"),
    "/hf/tasks/models/registry": ("status",),
    "/hf/tasks/models/audit": ("limit", "model_id"),
}
QUERY_NAMES = tuple(sorted({name for names in QUERIES.values() for name in names}))
# Models the fuzz may name (never the fixture's slow or unreachable ones).
MODEL_IDS = ("example-chat", "example/example-chat", "example-all-prices", "fuzz-model")

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "\u00b2",
        "\uff11\uff10",
        "-1",
        "0",
        "1e999",
        "NaN",
        str(2**63),
        "9" * 400,
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "../../etc/passwd",
        "%00",
        "\u202e\ufeff",
        "x" * 300,
        "example-chat",
        "live",
        "conversational",
    ]
)
TEXT = st.one_of(HOSTILE_TEXT, st.text(max_size=40))
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1]),
    st.floats(),  # NaN and infinities become JSON's invalid NaN/Infinity tokens
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
# Text a query string may carry where a number or a time is expected.
DIGITS = st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=4)
TIMES = st.builds(
    lambda when, sign, hours, minutes: f"{when.isoformat()}{sign}{hours:02d}:{minutes:02d}",
    st.datetimes(),
    st.sampled_from("+-"),
    st.integers(0, 23),
    st.integers(0, 59),
)
QUERY_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    DIGITS,
    TIMES,
    st.datetimes().map(lambda when: when.isoformat()),
    TEXT,
)
# A value nested this deep, spliced into the encoded body (the encoder itself recurses).
DEEP = st.integers(min_value=60, max_value=1100).map(lambda depth: f"@@deep{depth}@@")
HUGE_TEXT = st.integers(min_value=50_000, max_value=1_500_000).map(lambda n: "word " * (n // 5))


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


RAW_BODIES = st.one_of(
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"x"',
            b"{",
            b'{"model": "\xff\xfe"}',
            b'{"model": "\\ud800"}',
            b'{"inputs": NaN}',
            b'{"inputs": 1e999}',
            b'{"max_tokens": 99999999999999999999999999}',
            b"\x00\x00\x00",
            b'{"a": 1, "a": 2}',
        ]
    ),
    st.integers(min_value=60, max_value=1100).map(
        lambda depth: f'{{"inputs": {nested(depth)}, "messages": {nested(depth)}}}'.encode()
    ),
    st.binary(max_size=64),
)


@st.composite
def broken(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with parts kept, dropped, broken further or replaced by hostile values."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            action = draw(st.sampled_from(["keep", "keep", "break", "drop", "replace"]))
            if action == "keep":
                out[key] = item
            elif action == "break":
                out[key] = draw(broken(item))
            elif action == "replace":
                out[key] = draw(st.one_of(JSON_VALUES, DEEP, HUGE_TEXT))
        if draw(st.booleans()):
            out[draw(TEXT)] = draw(st.one_of(JSON_VALUES, DEEP))
        return out
    if isinstance(value, list):
        items = [draw(broken(item)) for item in value]
        return items + draw(st.lists(st.one_of(JSON_VALUES, DEEP), max_size=3))
    return draw(st.one_of(st.just(value), SCALARS, DEEP))


EXTREME_NUMBERS = st.sampled_from(
    [-1, 0, 2**31 - 1, 2**31, 2**53 + 1, 10**12 + 1, 2**63 - 1, 2**63, 2**64 - 1, 1e308, -0.0]
)


def hostile_like(value: Any) -> st.SearchStrategy[Any]:
    """Replacements for ``value``: mostly of its own type and at its edges."""
    if isinstance(value, bool) or value is None:
        return st.one_of(SCALARS, JSON_VALUES)
    if isinstance(value, (int, float)):
        return st.one_of(EXTREME_NUMBERS, EXTREME_NUMBERS, NUMBERS, SCALARS)
    if isinstance(value, str):
        return st.one_of(HOSTILE_TEXT, HOSTILE_TEXT, TEXT, HUGE_TEXT, SCALARS)
    return st.one_of(JSON_VALUES, DEEP, SCALARS)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``value``: each member of each object and array, at any depth."""
    if isinstance(value, dict):
        children: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    else:
        return []
    found = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


@st.composite
def one_change(draw: st.DrawFn, seed: dict[str, Any]) -> Any:
    """``seed`` with exactly one place dropped, replaced or given a new member: everything
    else stays valid, so the change reaches past validation to the code behind it."""
    body = copy.deepcopy(seed)
    where = draw(st.sampled_from(paths(seed) or [("x",)]))
    parent = body
    for key in where[:-1]:
        parent = parent[key]
    last = where[-1]
    current = parent[last] if isinstance(parent, dict) and last in parent else None
    action = draw(st.sampled_from(["replace", "replace", "replace", "drop", "add"]))
    if action == "drop" and current is not None:
        del parent[last]
    elif action == "add" and isinstance(current, dict):
        current[draw(TEXT)] = draw(st.one_of(JSON_VALUES, DEEP))
    elif action == "add" and isinstance(current, list):
        current.append(draw(st.one_of(JSON_VALUES, DEEP)))
    else:
        if isinstance(parent, list):
            current = parent[last]
        parent[last] = draw(hostile_like(current))
    return body


def encode(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False)
    text = re.sub(r'"@@deep(\d+)@@"', lambda m: nested(int(m.group(1))), text)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def bodies(draw: st.DrawFn, seed: dict[str, Any]) -> bytes:
    kind = draw(
        st.sampled_from(["seed", "deep", "one", "one", "one", "one", "broken", "any", "raw"])
    )
    if kind == "seed":
        return encode(seed)
    if kind == "deep":  # a valid body with one field (known or not) nested deep
        return encode({**seed, draw(st.sampled_from([*seed, "tools", "x"])): draw(DEEP)})
    if kind == "one":
        return encode(draw(one_change(seed)))
    if kind == "broken":
        return encode(draw(broken(seed)))
    if kind == "any":
        return encode(draw(JSON_VALUES))
    return bytes(draw(RAW_BODIES))


def path_value(name: str) -> st.SearchStrategy[str]:
    known = MODEL_IDS if name == "model_id" else ALL_TASKS
    return st.one_of(st.sampled_from(known), st.sampled_from(known), TEXT).filter(bool)


@st.composite
def requests(draw: st.DrawFn, route: Route) -> tuple[str, str, dict[str, Any], bytes]:
    method = draw(st.sampled_from(sorted(route.methods - {"HEAD"})))
    path = route.path
    for name in route.param_convertors:
        value = draw(path_value(name))
        placeholder = next(p for p in (f"{{{name}:path}}", f"{{{name}}}") if p in path)
        path = path.replace(placeholder, quote(value, safe="/" if ":path" in placeholder else ""))
    names = QUERIES.get(route.path, ())
    params = {name: draw(QUERY_VALUES) for name in names if draw(st.booleans())}
    for name in draw(st.lists(st.sampled_from(QUERY_NAMES), max_size=2)):
        params[name] = draw(QUERY_VALUES)
    body = draw(bodies(SEEDS[route.path])) if method in ("POST", "PUT") else b""
    return method, path, params, body


def check(resp: httpx.Response, what: str) -> None:
    assert resp.status_code < 500, f"{what} -> {resp.status_code} {resp.text[:500]}"
    rid = resp.headers.get("inference-id")
    assert rid, f"{what} -> no Inference-Id"
    if resp.status_code >= 400 and resp.headers["content-type"].startswith("text/html"):
        # The dashboard's login page says why, with the request id, in the page.
        assert resp.request.url.path == "/dashboard/login", what
        assert rid in resp.text, f"{what} -> {resp.status_code} without its request id"
        return
    if resp.status_code >= 400:
        body = resp.json()
        error = body["error"]
        family = route_family(resp.request.method, resp.url.path)
        if family == "anthropic":
            assert body["type"] == "error" and error["type"] and error["message"], what
        openai = family in ("openai", "openai-responses")
        carried = error["request_id"] if openai else body["request_id"]
        assert carried == rid, f"{what} -> {resp.status_code} {resp.text[:300]}"


def test_every_route_has_a_strategy() -> None:
    paths = {route.path for route in ROUTES if isinstance(route, Route)}
    assert paths == set(SEEDS), f"routes without a fuzz strategy: {paths - set(SEEDS)}"


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if isinstance(r, Route)], ids=lambda r: f"{r.path}"
)
def test_fuzz_route(env: Env, route: Route) -> None:
    assert route.path in SEEDS, f"no fuzz strategy for {route.path}"
    keys: dict[str, bytes | None] = {
        "admin": f"Bearer {env.admin}".encode(),
        "partner": f"Bearer {env.partner}".encode(),
        "user": f"Bearer {env.user}".encode(),
        "bad": b"Bearer gw-" + b"0" * 40,
        "odd": b"Bearer \xff\xfe gw-\xe9 " + b"a" * 3000,
        "none": None,
    }
    # Mostly with a valid key: without one, a request stops at authentication.
    who_strategy = st.sampled_from(
        ["admin", "admin", "admin", "partner", "user", "bad", "odd", "none"]
    )
    # Without a session cookie every dashboard route stops at the session check, so a few
    # examples say all there is (tests/dashboard fuzzes them through a real session).
    examples = max(10, EXAMPLES // 8) if route.path.startswith("/dashboard") else EXAMPLES
    with httpx.Client(base_url=env.url, timeout=60) as client:

        @settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(request=requests(route), who=who_strategy)
        def fuzz(request: tuple[str, str, dict[str, Any], bytes], who: str) -> None:
            method, path, params, body = request
            key = keys[who]
            headers = {b"Content-Type": b"application/json"}
            if key is not None:
                headers[b"Authorization"] = key
            resp = client.request(method, path, params=params, content=body, headers=headers)
            check(resp, f"{who} {method} {path} {params} {body[:300]!r}")

        fuzz()
    assert env.gw.proc.poll() is None, "the gateway died"
    assert httpx.get(env.url + "/health", timeout=10).status_code == 200
