"""docs/ROUTING.md is run: its configuration starts a real gateway (real local upstreams in
place of the URLs), every request in it is sent, and each answer is the one it shows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
import yaml

from tests.checks import bearer
from tests.routing.behaving_upstream import BehavingUpstream
from tests.servers import ROOT, Gateway

DOC = (ROOT / "docs" / "ROUTING.md").read_text()
PORTS = {"groq": 9001, "together": 9002, "tei": 9003}


@pytest.fixture(scope="module")
def doc_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    (text,) = re.findall(r"```yaml routing\n(.*?)```", DOC, re.S)
    ups = {name: BehavingUpstream(name) for name in PORTS}
    for name, port in PORTS.items():
        # ``tei`` is an HF upstream: its task calls go to its root, served at /hf here.
        url = ups[name].url + ("/hf" if name == "tei" else "")
        text = text.replace(f"http://127.0.0.1:{port}", url)
    config = yaml.safe_load(text)
    workdir = tmp_path_factory.mktemp("routing-doc")
    config["database_url"] = f"sqlite:///{workdir / 'gw.db'}"
    server = Gateway(workdir, config)
    yield server
    server.stop()
    for up in ups.values():
        up.stop()


def test_every_example_answers_as_shown(doc_gateway: Gateway) -> None:
    key = doc_gateway.create_key("doc")
    pairs = re.findall(
        r"```http request\nPOST (\S+)\n(.*?)```\s*```text response\n(\d+) (.*?)\n```", DOC, re.S
    )
    assert len(pairs) == 3
    for path, body, status, shown in pairs:
        resp = httpx.post(
            doc_gateway.url + path, headers=bearer(key), json=json.loads(body), timeout=30
        )
        assert resp.status_code == int(status), (path, resp.text)
        if shown.startswith("x-gatewayz-route: "):
            assert resp.headers["x-gatewayz-route"] == shown.removeprefix("x-gatewayz-route: ")
        else:
            assert resp.json()["error"]["message"] == shown


def test_the_defaults_shown_are_the_defaults() -> None:
    from gatewayz.config import RoutingSettings

    (text,) = re.findall(r"```yaml routing\n(.*?)```", DOC, re.S)
    assert RoutingSettings(**yaml.safe_load(text)["routing"]) == RoutingSettings()
