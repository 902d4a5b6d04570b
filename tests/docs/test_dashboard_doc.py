"""docs/DASHBOARD.md's commands run as written (only the address differs: the test gateway
listens on a free port, and runs with ``first_key_file`` as serve.sh's embedded default)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import dashboard_config
from tests.servers import ROOT, Gateway, UvicornUpstream

DOC = (ROOT / "docs" / "DASHBOARD.md").read_text()
DEFAULT_URL = "http://127.0.0.1:8000"


def blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", DOC, re.S)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("dashboard-doc")
    upstream = UvicornUpstream("tests.billing.fake_upstream:app", workdir, "fake")
    config: dict[str, Any] = {
        **dashboard_config(upstream.base_url, f"sqlite:///{workdir / 'gw.db'}"),
        "first_key_file": ".gatewayz-key",
    }
    gw = Gateway(workdir, config)
    (workdir / ".venv").symlink_to(sys.prefix)
    yield gw
    gw.stop()
    upstream.stop()


def run(script: str, gw: Gateway) -> str:
    env = {**os.environ, "GATEWAYZ_CONFIG": str(gw.workdir / "gatewayz.yaml")}
    done = subprocess.run(
        ["bash", "-euc", script.replace(DEFAULT_URL, gw.url)],
        cwd=gw.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_making_an_admin_key(served: Gateway) -> None:
    (create,) = [b for b in blocks() if "keys create" in b]
    out = run(create, served)
    assert "created admin key 'ops'" in out


def test_logging_in_and_exporting_with_curl(served: Gateway) -> None:
    (script,) = [b for b in blocks() if "curl" in b]
    out = run(script, served).splitlines()
    assert out[0] == f"303 {served.url}/dashboard"
    assert out[1].startswith("request_id,api_key_id,created_at,")
    assert "prints `303 http://127.0.0.1:8000/dashboard`" in DOC
    assert Path(served.workdir / "usage.csv").exists()
