"""The dashboard in a real headless browser (Debian's Chromium driven by Playwright; nothing
is downloaded): log in, see the API's figures, create, credit and revoke a key, filter usage
and export it as CSV, and a model or key named like HTML stays text. A screenshot of each
page is kept in $GATEWAYZ_SCREENSHOTS (else a temporary directory the test prints)."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.billing.conftest import auth
from tests.dashboard.conftest import CHECKED, LOCAL_ONLY, XSS, Dash

CHROMIUM = "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed (scripts/setup.sh)"
)
KEY_XSS = "<script>alert('key')</script>"


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("GATEWAYZ_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"dashboard screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def used(dash: Dash) -> Dash:
    for model, words in [
        ("example-chat", 3),
        ("example-chat", 12),
        (XSS, 4),
        ("example-all-prices", 9),
    ]:
        assert dash.chat(dash.user, model, words).status_code == 200
    assert dash.chat(dash.user, "example-down").status_code == 502
    assert [r.status_code for r in dash.refuse()] == [404, 400, 401]
    # A real conformance check of one model, recorded (the tiny upstream fails some probes:
    # the Models page must show each probe's result and reason).
    checked = dash.gw.cli(
        *("hf", "check", "--url", dash.url, "--key", dash.admin, "--model", CHECKED),
        check=False,
    )
    assert f"{CHECKED}: " in checked.stdout, checked.stderr
    return dash


@pytest.fixture(scope="module")
def page(used: Dash) -> Iterator[Any]:
    alerts: list[str] = []
    missing: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1400, "height": 900}
        )
        pg = context.new_page()
        pg.set_default_timeout(15_000)

        def on_dialog(dialog: Any) -> None:
            if dialog.type == "confirm":
                dialog.accept()
            else:
                alerts.append(dialog.message)
                dialog.dismiss()

        pg.on("dialog", on_dialog)
        pg.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        pg.alerts = alerts
        yield pg
        assert alerts == [], f"a script ran from a name: {alerts}"
        assert missing == [], f"the pages asked for files the gateway does not have: {missing}"
        browser.close()


def wait_loaded(page: Any, tab: str) -> None:
    page.wait_for_selector(f"body[data-loaded='{tab}']")


def usd(nano: int) -> str:
    """The dashboard's format: exact, trailing zeros trimmed to cents."""
    whole, frac = divmod(nano, 10**9)
    digits = f"{frac:09d}".rstrip("0").ljust(2, "0")
    return f"${whole:,}.{digits}"


def test_login(used: Dash, page: Any, shots: Path) -> None:
    page.goto(f"{used.url}/dashboard")
    assert page.url.endswith("/dashboard/login")
    page.screenshot(path=str(shots / "01-login.png"), full_page=True)
    page.fill("#key", used.user)
    page.click("#login")
    assert "not an active admin API key" in page.text_content(".error")
    page.screenshot(path=str(shots / "02-login-refused.png"), full_page=True)
    page.fill("#key", used.admin)
    page.click("#login")
    wait_loaded(page, "overview")
    assert page.text_content("#who").startswith("ops-admin")


_SAMPLE = re.compile(r"^gatewayz_requests_total\{(.*)\} (\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics_errors(d: Dash) -> dict[tuple[str, str, str], int]:
    """Answers with status >= 400 by (route, model, status), read from /metrics' text."""
    text = httpx.get(f"{d.url}/metrics").text
    found: dict[tuple[str, str, str], int] = {}
    for labels, value in _SAMPLE.findall(text):
        lab = dict(_LABEL.findall(labels))
        if int(lab["status"]) >= 400 and float(value) > 0:
            found[(lab["route"], lab["model"], lab["status"])] = int(float(value))
    return found


def test_overview_figures_match_the_api(used: Dash, page: Any, shots: Path) -> None:
    totals = httpx.get(f"{used.url}/hf/tasks/billing/usage", headers=auth(used.admin)).json()[
        "totals"
    ]
    assert page.text_content("#card-requests .card-value") == str(totals["requests"])
    assert page.text_content("#card-errors .card-value") == "1"
    # Refusals before routing have no usage record; the page shows /metrics' count of them.
    errors = metrics_errors(used)
    assert page.text_content("#card-error-answers .card-value") == str(sum(errors.values()))
    shown = {
        tuple(r.locator("td").all_text_contents())
        for r in page.locator("#errors-table tbody tr").all()
    }
    for (route, model, status), n in errors.items():
        assert (route, model or "\N{EN DASH}", status, str(n)) in shown
    unknown = [k for k in errors if k[2] == "404" and k[0] == "chat_completions"]
    assert unknown and any(k[2] == "400" for k in errors) and any(k[2] == "401" for k in errors)
    assert "refusals" in page.text_content("#charts figure.chart:nth-child(2) figcaption")
    assert page.text_content("#card-latency .card-label") == "Mean latency"
    assert page.text_content("#card-spend .card-value") == usd(totals["cost_nano_usd"])
    assert page.locator("figure.chart").count() == 4
    # Stacked bars: one rect per model and bucket with requests; the latency chart's lines.
    assert page.locator("figure.chart").first.locator("rect").count() >= 4
    assert page.locator("figure.chart").nth(2).locator("circle").count() >= 4  # one per model
    legend = page.locator("figure.chart").first.locator(".legend li").all_text_contents()
    assert XSS in legend and "example-chat" in legend
    page.screenshot(path=str(shots / "03-overview-per-model.png"), full_page=True)
    page.select_option("#by", "key")
    page.click("#range-form button[type=submit]")
    wait_loaded(page, "overview")
    assert "alice" in page.locator("figure.chart").first.locator(".legend li").all_text_contents()
    page.screenshot(path=str(shots / "03-overview-per-key.png"), full_page=True)
    # A custom range (UTC) before any traffic: nothing in it.
    page.select_option("#range", "custom")
    page.fill("#range-start", "2020-01-01T00:00")
    page.fill("#range-end", "2020-01-02T00:00")
    page.click("#range-form button[type=submit]")
    page.wait_for_selector("#range-label >> text=2020-01-01 00:00:00 to 2020-01-02 00:00:00 UTC")
    assert page.text_content("#card-requests .card-value") == "0"
    assert page.text_content("#card-spend .card-value") == "$0.00"


def test_amounts_are_exact_beyond_float_precision(page: Any) -> None:
    """The page's formatting of nano-USD strings keeps every digit (floats keep ~16)."""
    cases = {
        "9223372036854775807": "$9,223,372,036.854775807",
        "1": "$0.000000001",
        "120000000": "$0.12",
        "-1500000000": "-$1.50",
        "0": "$0.00",
    }
    for nano, shown in cases.items():
        assert page.evaluate("n => usd(n)", nano) == shown
    assert (
        page.evaluate("t => usdString(t)", "9223372036.854775807") == cases["9223372036854775807"]
    )
    assert page.evaluate("t => usdString(t)", "0.000125000") == "$0.000125"


def test_models_show_html_names_as_text(used: Dash, page: Any, shots: Path) -> None:
    page.click("#tabs a[data-tab=models]")
    wait_loaded(page, "models")
    cells = page.locator("#m-table tbody td:first-child").all_text_contents()
    assert XSS in cells
    assert page.locator("img").count() == 0
    # Every entry (local-only ones too) with its own last check, as GET /hf/tasks/models
    # gives it to an admin: each probe's result (pass/FAIL/skip), client and reason.
    listed = httpx.get(f"{used.url}/hf/tasks/models", headers=auth(used.admin)).json()["models"]
    assert len(cells) == len(listed) and LOCAL_ONLY in cells
    checked = 0
    for m in listed:
        row = page.locator("#m-table tbody tr").filter(
            has=page.get_by_role("cell", name=m["provider_model_id"], exact=True)
        )
        hub = row.locator("td").nth(1).text_content()
        assert ("local-only" in hub) == m["local_only"], m["provider_model_id"]
        shown = row.locator("td").nth(7)
        check = m["last_check"]
        if check is None:
            assert shown.text_content() == "never checked", m["provider_model_id"]
            continue
        checked += 1
        verdict = shown.locator(".verdict").text_content()
        assert verdict.startswith("passed" if check["passed"] else "FAILED")
        probes = shown.locator("li").all_text_contents()
        assert len(probes) == len(check["probes"])
        for text, probe in zip(probes, check["probes"], strict=True):
            result = {"pass": "pass", "fail": "FAIL", "skip": "skip"}[probe["result"]]
            assert text.startswith(f"{result} {probe['probe']} ({probe['client']})")
            if probe["reason"]:
                assert text.endswith(f": {probe['reason']}")
    assert checked == 1  # CHECKED, by the fixture's hf check
    # At 1400 px the table fits: nothing cut off, nothing to scroll sideways.
    width = page.evaluate(
        "() => { const t = document.getElementById('m-table'); "
        "return [t.scrollWidth, t.parentElement.clientWidth]; }"
    )
    assert width[0] <= width[1], width
    page.screenshot(path=str(shots / "04-models.png"), full_page=True)
    page.click("#tabs a[data-tab=upstreams]")
    wait_loaded(page, "upstreams")
    heads = page.locator("#r-table thead th").all_text_contents()
    assert "Median latency ms" in heads and "Median first token ms" in heads
    routes = httpx.get(f"{used.url}/hf/tasks/models/routes", headers=auth(used.admin)).json()
    shown = page.locator("#r-table tbody tr").count()
    assert shown == sum(len(m["routes"]) for m in routes["models"])
    width = page.evaluate(
        "() => { const t = document.getElementById('r-table'); "
        "return [t.scrollWidth, t.parentElement.clientWidth]; }"
    )
    assert width[0] <= width[1], width  # every column fits at 1400 px
    down = page.locator("#r-table tbody tr", has_text="example-down").first.text_content()
    assert "down" in down
    page.screenshot(path=str(shots / "05-upstreams.png"), full_page=True)


def test_create_credit_and_revoke_a_key(used: Dash, page: Any, shots: Path) -> None:
    page.click("#tabs a[data-tab=keys]")
    wait_loaded(page, "keys")
    page.fill("#k-name", KEY_XSS)
    page.fill("#k-balance", "1.5")
    page.fill("#k-rpm", "600")
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#notice.ok >> text=created standard key")
    key = page.text_content("#new-key-value")
    assert key.startswith("gz_")
    models = httpx.get(f"{used.url}/v1/models", headers=auth(key))
    assert models.status_code == 200
    row = page.locator("#k-table tbody tr", has_text=KEY_XSS)
    assert row.locator("td").nth(5).text_content() == "$1.50"
    assert row.locator("input.limit-rpm").input_value() == "600"
    row.locator("input.credit-amount").fill("0.25")
    row.locator("button.credit").click()
    page.wait_for_selector("#notice.ok >> text=credited $0.25")
    row = page.locator("#k-table tbody tr", has_text=KEY_XSS)
    assert row.locator("td").nth(5).text_content() == "$1.75"
    balance = httpx.get(f"{used.url}/v1/billing/balance", headers=auth(key)).json()
    assert balance["balance_nano_usd"] == 1_750_000_000
    page.screenshot(path=str(shots / "06-keys-credited.png"), full_page=True)
    row.locator("input.limit-tpm").fill("5000")
    row.locator("input.limit-rpm").fill("")  # back to the configured default
    row.locator("button.save-limits").click()
    page.wait_for_selector("#notice.ok >> text=saved")
    (stored,) = used.gw.rows("SELECT rate_rpm, rate_tpm FROM api_keys WHERE name = ?", KEY_XSS)
    assert (stored["rate_rpm"], stored["rate_tpm"]) == (None, 5000)
    row = page.locator("#k-table tbody tr", has_text=KEY_XSS)
    row.locator("button.revoke").click()
    page.wait_for_selector("#notice.ok >> text=revoked")
    row = page.locator("#k-table tbody tr", has_text=KEY_XSS)
    assert row.locator("td").nth(4).text_content().startswith("revoked")
    assert httpx.get(f"{used.url}/v1/models", headers=auth(key)).status_code == 401
    page.screenshot(path=str(shots / "06-keys-revoked.png"), full_page=True)


def test_filter_usage_and_export_csv(used: Dash, page: Any, shots: Path) -> None:
    page.click("#tabs a[data-tab=usage]")
    wait_loaded(page, "usage")
    api = httpx.get(f"{used.url}/hf/tasks/billing/usage", headers=auth(used.admin)).json()
    assert page.locator("#u-table tbody tr").count() == len(api["data"])
    page.fill("#u-model", "example-chat")
    page.click("#usage-form button[type=submit]")
    wait_loaded(page, "usage")
    chat = [r for r in api["data"] if r["model"] == "example-chat"]
    assert page.locator("#u-table tbody tr").count() == len(chat) == 2
    # Newest first on the page (the API lists oldest first), and the page says so.
    ids = page.locator("#u-table tbody td:nth-child(2)").all_text_contents()
    assert ids == [r["request_id"] for r in reversed(chat)]
    assert page.text_content("#u-order").startswith("Newest first.")
    costs = page.locator("#u-table tbody td:last-child").all_text_contents()
    assert costs == [usd(r["cost_nano_usd"]) for r in reversed(chat)]
    total = sum(r["cost_nano_usd"] for r in chat)
    assert page.text_content("#u-totals").endswith(f"{usd(total)} in all")
    assert page.locator("#u-more").is_hidden()  # one page holds them all
    page.screenshot(path=str(shots / "07-usage.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#u-csv")
    text = Path(info.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["request_id"] for r in rows] == [r["request_id"] for r in chat]


def test_logout(used: Dash, page: Any) -> None:
    page.click("#logout")
    page.wait_for_url("**/dashboard/login")
    page.goto(f"{used.url}/dashboard")
    assert page.url.endswith("/dashboard/login")
