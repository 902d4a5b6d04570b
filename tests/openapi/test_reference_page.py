"""``GET /docs``: the interactive reference works offline. Its HTML names only the
gateway's own files, each answers 200, a Content-Security-Policy keeps the page to them,
and Debian's headless Chromium, with every other host unresolvable, renders the
operations of ``/openapi.json`` (a screenshot is kept in the test's directory)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.openapi.conftest import ApiEnv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Only the gateway on the loopback resolves: a file fetched from anywhere else fails.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def test_the_page_names_only_local_files_that_answer(api_env: ApiEnv) -> None:
    page = httpx.get(api_env.url + "/docs", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert "<script>" not in page.text  # no inline script: the CSP would refuse it
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(urls) >= 3
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = httpx.get(api_env.url + url, timeout=30)
        assert asset.status_code == 200, url
        assert asset.content and asset.headers["content-security-policy"] == csp
    init = httpx.get(api_env.url + "/docs/assets/init.js", timeout=30).text
    assert '"/openapi.json"' in init and "validatorUrl: null" in init


def test_an_unknown_asset_is_a_clear_404(api_env: ApiEnv) -> None:
    for name in ("nope.js", "..%2F..%2Fpyproject.toml", "swagger-ui.js.map"):
        resp = httpx.get(api_env.url + "/docs/assets/" + name, timeout=30)
        assert resp.status_code == 404, name
        body = resp.json()
        assert body["request_id"] == resp.headers["inference-id"]
        assert "pyproject" not in resp.text


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_chromium_renders_the_reference_offline(api_env: ApiEnv, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", OFFLINE]
    common += ["--virtual-time-budget=20000", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", api_env.url + "/docs"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for text in ("Create a chat completion", "/v1/messages", "/hf/tasks/summarization"):
        assert text in dom, f"{text!r} not rendered"
    assert "Failed to load API definition" not in dom
    shot = tmp_path / "docs.png"
    subprocess.run(
        [*common, "--window-size=1280,2000", f"--screenshot={shot}", api_env.url + "/docs"],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000
