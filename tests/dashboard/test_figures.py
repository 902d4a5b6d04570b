"""The dashboard's figures are the API's: chart buckets computed by SQL on SQLite and on
PostgreSQL put every record where its time says, per model and per key, and sum to the
usage API's totals; the usage table and its CSV export are the usage API's records."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.billing.conftest import BACKENDS, FakeUpstream, auth
from tests.dashboard.conftest import XSS, Dash, start_dash


@pytest.fixture(scope="module", params=BACKENDS)
def used(
    request: pytest.FixtureRequest,
    fake_upstream: FakeUpstream,
    fresh_database: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Dash]:
    """A gateway with usage by two keys on three models, one request failing upstream."""
    backend = str(request.param)
    d = start_dash(
        tmp_path_factory.mktemp(f"figures-{backend}"), fake_upstream, fresh_database(backend)
    )
    try:
        bob = d.make_key("bob")
        for key, model, words in [
            (d.user, "example-chat", 3),
            (d.user, "example-chat", 40),
            (d.user, XSS, 7),
            (bob, "example-chat", 11),
            (bob, "example-all-prices", 5),
        ]:
            assert d.chat(key, model, words).status_code == 200
        assert d.chat(bob, "example-down").status_code == 502
        yield d
    finally:
        d.gw.stop()


def records(d: Dash, **params: str) -> list[dict[str, Any]]:
    resp = httpx.get(
        f"{d.url}/hf/tasks/billing/usage", params={"limit": "1000", **params}, headers=auth(d.admin)
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json()["data"])


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


@pytest.mark.parametrize("by", ["model", "key"])
def test_buckets_hold_each_record_where_its_time_says(used: Dash, by: str) -> None:
    rows = records(used)
    assert len(rows) == 6
    client, _ = used.login()
    end = datetime.now(UTC) + timedelta(minutes=1)
    start = end - timedelta(hours=2, seconds=17)  # > 120 minutes: 5-minute buckets, off the minute
    params = {"by": by, "start": start.isoformat(), "end": end.isoformat()}
    data = client.get("/dashboard/api/series", params=params).json()
    step = data["step_s"]
    assert step == 300 and len(data["buckets"]) == 25
    names = {k["id"]: k["name"] for k in client.get("/dashboard/api/keys").json()["keys"]}
    want: dict[str, Counter[int]] = defaultdict(Counter)
    cost: dict[str, int] = Counter()
    errors: dict[str, int] = Counter()
    for r in rows:
        name = r["model"] if by == "model" else names[r["api_key_id"]]
        want[name][int((at(r["created_at"]) - start).total_seconds() // step)] += 1
        cost[name] += r["cost_nano_usd"]
        errors[name] += r["status"] >= 400
    got = {s["name"]: s for s in data["series"]}
    assert set(got) == set(want)
    for name, series in got.items():
        assert {i: n for i, n in enumerate(series["requests"]) if n} == dict(want[name])
        assert series["totals"]["cost_nano_usd"] == str(cost[name])
        assert sum(series["errors"]) == errors[name]
        assert all(isinstance(c, str) for c in series["cost_nano_usd"])
    usage = httpx.get(f"{used.url}/hf/tasks/billing/usage", headers=auth(used.admin)).json()
    total = data["total"]["totals"]
    assert total["requests"] == usage["totals"]["requests"] == 6
    assert total["cost_nano_usd"] == str(usage["totals"]["cost_nano_usd"])
    assert total["cost_usd"] == usage["totals"]["cost_usd"]
    assert total["errors"] == 1


def test_a_range_before_the_records_is_empty(used: Dash) -> None:
    client, _ = used.login()
    params = {"start": "2020-01-01T00:00:00Z", "end": "2020-01-08T00:00:00Z"}
    data = client.get("/dashboard/api/series", params=params).json()
    assert data["series"] == [] and data["total"]["totals"]["requests"] == 0
    assert data["step_s"] == 3 * 3600 and len(data["buckets"]) == 56


def test_usage_table_and_csv_are_the_usage_api(used: Dash) -> None:
    client, _ = used.login()
    key_id = client.get("/dashboard/api/keys").json()["keys"][1]["id"]  # alice
    params = {"model": "example-chat", "api_key_id": str(key_id)}
    table = client.get("/dashboard/api/usage", params=params).json()
    # The page's table: the API's records, newest first.
    assert table["data"] == records(used, **params)[::-1] and len(table["data"]) == 2
    exported = client.get("/dashboard/api/usage.csv", params=params)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))  # oldest first, as the API
    assert [r["request_id"] for r in rows] == [r["request_id"] for r in table["data"]][::-1]
    assert [r["cost_usd"] for r in rows] == [r["cost_usd"] for r in table["data"]][::-1]
    everything = list(csv.DictReader(io.StringIO(client.get("/dashboard/api/usage.csv").text)))
    assert len(everything) == 6


def test_usage_pages_newest_first_hold_every_record_once(used: Dash) -> None:
    """Page by page, newest first, through the cursor: each record once, in order."""
    client, _ = used.login()
    seen: list[dict[str, Any]] = []
    params = {"limit": "2"}
    while True:
        page = client.get("/dashboard/api/usage", params=params).json()
        seen += page["data"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert [r["request_id"] for r in seen] == [r["request_id"] for r in records(used)][::-1]
    bad = client.get("/dashboard/api/usage", params={"cursor": "nonsense"})
    assert bad.status_code == 400 and bad.json()["request_id"]


def test_error_answers_count_refusals_the_charts_cannot(used: Dash) -> None:
    """Refused before routing: no usage record, so the series do not change; the page's
    error answers (from /metrics) count each refusal by route, model and status."""
    client, _ = used.login()

    def counts() -> Counter[tuple[str, str, int]]:
        answers = client.get("/dashboard/api/errors").json()["answers"]
        return Counter({(a["route"], a["model"], a["status"]): a["count"] for a in answers})

    before, series = counts(), client.get("/dashboard/api/series").json()["total"]["totals"]
    assert [r.status_code for r in used.refuse()] == [404, 400, 401]
    after = counts()
    assert client.get("/dashboard/api/series").json()["total"]["totals"] == series
    grown = after - before
    assert sum(grown.values()) == 3, grown
    assert {status for (_, _, status) in grown} == {404, 400, 401}
    assert all(route == "chat_completions" for (route, _, _) in grown), grown
