"""The dashboard over plain HTTP: what it refuses. No session, a foreign origin, a missing
or wrong CSRF token, a non-admin key, bad input: each a clear 4xx with the request id, never
a 500; the cookie's flags, the CSP header; sessions end at logout, at expiry and when their
key is revoked; failed logins are throttled and never tell one failure from another."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayz.dashboard.sessions import LOGIN_REFUSED, MAX_FAILURES
from gatewayz.money import MAX_BALANCE_NANO_USD
from gatewayz.routes.dashboard import MAX_LOGIN_BYTES
from tests.checks import hf_error
from tests.dashboard.conftest import Dash, no_inline_script
from tests.security.test_fuzz import QUERY_VALUES, TEXT


def test_no_session_redirects_pages_and_refuses_the_api(dash: Dash) -> None:
    client = dash.client()
    page = client.get("/dashboard")
    assert page.status_code == 303 and page.headers["location"] == "/dashboard/login"
    for path in ("session", "keys", "usage", "usage.csv", "series", "errors", "models", "routes"):
        msg = hf_error(client.get(f"/dashboard/api/{path}"), 401)
        assert "log in" in msg
    hf_error(client.post("/dashboard/api/keys", json={"name": "x"}), 401)
    # A bearer key is no dashboard session (the JSON API for keys is the CLI's and the API's).
    bearer = {"Authorization": f"Bearer {dash.admin}"}
    hf_error(client.get("/dashboard/api/keys", headers=bearer), 401)


def test_login_page_and_app_page_headers(dash: Dash) -> None:
    client = dash.client()
    page = client.get("/dashboard/login")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    no_inline_script(page.text)
    logged, _ = dash.login()
    app = logged.get("/dashboard")
    assert app.status_code == 200 and app.headers["content-security-policy"] == csp
    no_inline_script(app.text)
    for name in ("app.js", "app.css", "favicon.svg"):
        asset = client.get(f"/dashboard/assets/{name}")
        assert asset.status_code == 200 and asset.headers["content-security-policy"] == csp
    # Both pages name their icon (else browsers ask for /favicon.ico, a 404 in the log).
    icon = '<link rel="icon" href="/dashboard/assets/favicon.svg" type="image/svg+xml">'
    assert icon in page.text and icon in app.text
    svg = client.get("/dashboard/assets/favicon.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and b"<script" not in svg.content
    hf_error(client.get("/dashboard/assets/..%2Fsessions.py"), 404)
    hf_error(client.get("/dashboard/assets/index.html"), 404)


def test_session_cookie_flags(dash: Dash) -> None:
    resp = dash.client().post("/dashboard/login", data={"key": dash.admin})
    assert resp.status_code == 303 and resp.headers["location"] == "/dashboard"
    cookie = resp.headers["set-cookie"]
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert flags[0].startswith("gatewayz_session=")
    assert "httponly" in flags and "samesite=strict" in flags and "path=/dashboard" in flags
    assert any(f.startswith("max-age=") for f in flags)
    # Only the token's hash is stored, never the token.
    token = flags[0].split("=", 1)[1]
    rows = dash.gw.rows("SELECT token_hash FROM dashboard_sessions")
    assert rows and all(token not in r["token_hash"] for r in rows)


def test_non_admin_keys_are_refused_alike(dash: Dash) -> None:
    client, csrf = dash.login()
    made = client.post(
        "/dashboard/api/keys",
        json={"name": "gone-admin", "role": "admin"},
        headers={"X-CSRF-Token": csrf},
    ).json()
    revoked_admin = made["key"]
    done = client.post(
        f"/dashboard/api/keys/{made['info']['id']}/revoke", headers={"X-CSRF-Token": csrf}
    )
    assert done.status_code == 200
    answers = []
    for key in (dash.user, revoked_admin, "gz_000000000000_unknown", "not a key", ""):
        resp = dash.client().post("/dashboard/login", data={"key": key})
        assert resp.status_code == 401, (key, resp.text)
        assert "set-cookie" not in resp.headers
        assert resp.headers["content-type"].startswith("text/html")
        request_id = resp.headers["inference-id"]
        assert request_id in resp.text
        answers.append(resp.text.replace(request_id, "RID"))
    assert LOGIN_REFUSED in answers[0]
    assert len(set(answers)) == 1, "a login failure must not tell one kind of key from another"


def test_login_from_another_origin_is_refused(dash: Dash) -> None:
    for origin in ("http://evil.example", "null"):
        resp = httpx.post(
            f"{dash.url}/dashboard/login", data={"key": dash.admin}, headers={"Origin": origin}
        )
        assert resp.status_code == 403 and "set-cookie" not in resp.headers
    resp = httpx.post(f"{dash.url}/dashboard/login", data={"key": dash.admin})  # no Origin
    assert resp.status_code == 403
    big = dash.client().post("/dashboard/login", data={"key": "x" * (MAX_LOGIN_BYTES + 10)})
    assert big.status_code == 401 and "set-cookie" not in big.headers


def test_changes_need_the_csrf_token_and_this_origin(dash: Dash) -> None:
    client, csrf = dash.login()
    body = {"name": "csrf-probe"}
    assert hf_error(client.post("/dashboard/api/keys", json=body), 403).startswith("missing or")
    wrong = {"X-CSRF-Token": csrf[:-2] + "xx"}
    hf_error(client.post("/dashboard/api/keys", json=body, headers=wrong), 403)
    good = {"X-CSRF-Token": csrf}
    foreign = {**good, "Origin": "http://evil.example"}
    assert "cross-origin" in hf_error(
        client.post("/dashboard/api/keys", json=body, headers=foreign), 403
    )
    other_port = {**good, "Origin": dash.url.rsplit(":", 1)[0] + ":1"}
    hf_error(client.post("/dashboard/api/keys", json=body, headers=other_port), 403)
    # Another session's token is no good either.
    _, other_csrf = dash.login()
    hf_error(
        client.post("/dashboard/api/keys", json=body, headers={"X-CSRF-Token": other_csrf}), 403
    )
    hf_error(client.post("/dashboard/logout", headers=wrong), 403)
    names = [k["name"] for k in client.get("/dashboard/api/keys").json()["keys"]]
    assert "csrf-probe" not in names, "a refused change must not have happened"
    made = client.post("/dashboard/api/keys", json=body, headers=good)
    assert made.status_code == 201, made.text


def test_bad_input_is_a_clear_4xx(dash: Dash) -> None:
    client, csrf = dash.login()
    h = {"X-CSRF-Token": csrf}
    key_id = client.post("/dashboard/api/keys", json={"name": "victim"}, headers=h).json()["info"][
        "id"
    ]
    cases = [
        ("POST", "/dashboard/api/keys", {"name": ""}, 400),
        ("POST", "/dashboard/api/keys", {"name": "a" * 201}, 400),
        ("POST", "/dashboard/api/keys", {"name": "n\x00ul"}, 400),
        ("POST", "/dashboard/api/keys", {"name": "x", "role": "root"}, 400),
        ("POST", "/dashboard/api/keys", {"name": "x", "balance_usd": "-1"}, 400),
        ("POST", "/dashboard/api/keys", {"name": "x", "balance_usd": "NaN"}, 400),
        ("POST", "/dashboard/api/keys", {"name": "x", "rpm": -1}, 400),
        ("POST", "/dashboard/api/keys", {"name": "x", "rpm": 2**63}, 400),
        ("POST", "/dashboard/api/keys", {"name": "x", "rpm": 1.5}, 400),
        ("POST", "/dashboard/api/keys", {"name": "x", "extra": 1}, 400),
        ("POST", "/dashboard/api/keys", [1, 2], 400),
        ("POST", f"/dashboard/api/keys/{key_id}/credit", {"usd": "abc"}, 400),
        ("POST", f"/dashboard/api/keys/{key_id}/credit", {"usd": "-5"}, 400),
        ("POST", f"/dashboard/api/keys/{key_id}/credit", {"usd": "0"}, 400),
        ("POST", f"/dashboard/api/keys/{key_id}/credit", {"usd": "1e400"}, 400),
        ("POST", f"/dashboard/api/keys/{key_id}/credit", {"usd": 5}, 400),
        ("POST", "/dashboard/api/keys/abc/credit", {"usd": "1"}, 400),
        ("POST", "/dashboard/api/keys/99999999999999/credit", {"usd": "1"}, 400),
        ("POST", "/dashboard/api/keys/424242/credit", {"usd": "1"}, 404),
        ("POST", "/dashboard/api/keys/424242/revoke", {}, 404),
        ("PUT", f"/dashboard/api/keys/{key_id}/limits", {"rpm": "ten"}, 400),
        ("GET", "/dashboard/api/series?by=provider", None, 400),
        ("GET", "/dashboard/api/series?start=2026-01-02&end=2026-01-01", None, 400),
        ("GET", "/dashboard/api/series?start=yesterday", None, 400),
        ("GET", "/dashboard/api/series?start=0001-01-01&end=9999-01-01", None, 400),
        ("GET", "/dashboard/api/usage?api_key_id=x", None, 400),
        ("GET", "/dashboard/api/usage?model=%00", None, 400),
        ("GET", "/dashboard/api/usage?cursor=garbage", None, 400),
        ("GET", "/dashboard/api/usage.csv?start=nope", None, 400),
    ]
    for method, path, body, status in cases:
        resp = client.request(method, path, json=body, headers=h)
        assert resp.status_code == status, (method, path, body, resp.text)
        message = hf_error(resp, status)
        assert "Traceback" not in message and dash.admin not in message
    # Trying to overspend the balance cap: refused whole, nothing credited.
    client.post(f"/dashboard/api/keys/{key_id}/credit", json={"usd": "999999999"}, headers=h)
    over = client.post(f"/dashboard/api/keys/{key_id}/credit", json={"usd": "2"}, headers=h)
    assert "at most" in hf_error(over, 400)
    keys = {k["id"]: k for k in client.get("/dashboard/api/keys").json()["keys"]}
    assert keys[key_id]["balance_usd"] == "999999999.000000000"


def test_logout_ends_the_session(dash: Dash) -> None:
    client, csrf = dash.login()
    assert client.post("/dashboard/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert "log in" in hf_error(client.get("/dashboard/api/session"), 401)
    # The old cookie, replayed by hand, is dead too: the session is revoked server-side.
    rows = dash.gw.rows("SELECT revoked_at FROM dashboard_sessions WHERE revoked_at IS NOT NULL")
    assert rows


def test_expired_sessions_end(dash: Dash) -> None:
    client, _ = dash.login()
    with closing(sqlite3.connect(dash.gw.db_path)) as db:
        db.execute("UPDATE dashboard_sessions SET expires_at = '2000-01-01 00:00:00.000000'")
        db.commit()
    hf_error(client.get("/dashboard/api/session"), 401)
    assert client.get("/dashboard").status_code == 303
    dash.login()  # the next login clears the expired sessions away
    assert dash.gw.rows("SELECT 1 FROM dashboard_sessions WHERE expires_at < '2001'") == []


def test_revoking_the_key_ends_its_sessions(dash: Dash) -> None:
    second = dash.make_key("second-admin", role="admin")
    theirs, _ = dash.login(second)
    mine, csrf = dash.login()
    second_id = theirs.get("/dashboard/api/session").json()["api_key_id"]
    done = mine.post(f"/dashboard/api/keys/{second_id}/revoke", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json()["revoked_at"]
    hf_error(theirs.get("/dashboard/api/keys"), 401)
    # ...and the key itself stops working at once on this instance (its cache entry dropped).
    models = httpx.get(f"{dash.url}/v1/models", headers={"Authorization": f"Bearer {second}"})
    assert models.status_code == 401


# Amounts and limits as a hostile page or script might send them.
AMOUNTS = st.one_of(
    st.sampled_from(["1", "0.000000001", "0.0000000001", "1e9", "1e10", "-0", "Infinity", "1_0"]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)
LIMITS = st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=5))


def test_session_fuzz_never_500s_and_keeps_balances_whole(dash: Dash) -> None:
    """Hostile key names, amounts, limits and query values through a real session: every
    answer is < 500 with its request id, and every balance stays a whole number of nano-USD
    within the cap. Only keys this test made are credited, limited or revoked."""
    client, csrf = dash.login()
    h = {"X-CSRF-Token": csrf}
    made: list[int] = []

    @settings(max_examples=60, derandomize=True, deadline=None, database=None)
    @given(
        name=TEXT,
        role=st.sampled_from(["standard", "admin", "partner", "", "root"]),
        amount=AMOUNTS,
        rpm=LIMITS,
        action=st.sampled_from(["create", "credit", "limits", "revoke", "series", "usage"]),
        query=st.dictionaries(
            st.sampled_from(["start", "end", "by", "model", "api_key_id", "cursor", "limit"]),
            QUERY_VALUES,
            max_size=3,
        ),
    )
    def fuzz(
        name: str, role: str, amount: Any, rpm: Any, action: str, query: dict[str, str]
    ) -> None:
        target = made[-1] if made else 424242
        if action == "create":
            body = {"name": name, "role": role, "balance_usd": amount, "rpm": rpm}
            resp = client.post("/dashboard/api/keys", json=body, headers=h)
            if resp.status_code == 201:
                made.append(resp.json()["info"]["id"])
        elif action == "credit":
            resp = client.post(
                f"/dashboard/api/keys/{target}/credit", json={"usd": amount}, headers=h
            )
        elif action == "limits":
            resp = client.put(f"/dashboard/api/keys/{target}/limits", json={"tpm": rpm}, headers=h)
        elif action == "revoke":
            resp = client.post(f"/dashboard/api/keys/{target}/revoke", headers=h)
        else:
            resp = client.get(f"/dashboard/api/{action}", params=query)
        assert resp.status_code < 500, (action, resp.text[:300])
        if resp.status_code >= 400:
            hf_error(resp, resp.status_code)

    fuzz()
    assert made, "the fuzz never made a key"
    for key in client.get("/dashboard/api/keys").json()["keys"]:
        if key["balance_nano_usd"] is not None:
            assert 0 <= int(key["balance_nano_usd"]) <= MAX_BALANCE_NANO_USD
    assert dash.gw.proc.poll() is None


def test_failed_logins_are_throttled(dash: Dash) -> None:
    """Runs last in this module: it locks this test client's address out."""
    client = dash.client()
    answers = [client.post("/dashboard/login", data={"key": "gz_a_b"}) for _ in range(MAX_FAILURES)]
    codes = [r.status_code for r in answers]
    # Earlier tests of this module failed some logins too: the 429s start at the limit.
    assert codes[0] == 401 and codes[-1] == 429 and set(codes) == {401, 429}
    locked = client.post("/dashboard/login", data={"key": dash.admin})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "too many failed logins" in locked.text and "set-cookie" not in locked.headers
