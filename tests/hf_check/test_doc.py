"""docs/HF_CHECK.md is run: its commands against a real gateway over the tool-calling
upstream, with ``my-chat`` mapped there; the output it shows is the output printed."""

from __future__ import annotations

import os
import re
import subprocess
import uuid

import httpx

from tests.checks import bearer
from tests.hf_check.conftest import PRICING
from tests.servers import PYTHON, ROOT, Gateway

DOC = (ROOT / "docs" / "HF_CHECK.md").read_text()
BLOCK = re.compile(r"<!-- hf-check-example: ([\w-]+) -->\n```(\w+)\n(.*?)```", re.S)


def blocks() -> dict[str, str]:
    return {name: body for name, _, body in BLOCK.findall(DOC)}


def columns(line: str) -> list[str]:
    """A report line without what varies (latency, reason): model ... result."""
    return line.split()[:5]


def test_the_documented_commands_do_what_the_doc_says(gw: Gateway, admin_key: str) -> None:
    mapping = {
        "provider_model_id": "my-chat",
        "hub_model_id": "example/my-chat",
        "task_type": "conversational",
        "routes": [{"provider": "tooly", "model": "decider"}],
        "pricing": PRICING,
    }
    r = httpx.post(f"{gw.url}/hf/tasks/models/map", json=mapping, headers=bearer(admin_key))
    assert r.status_code == 201, r.text
    docs = blocks()
    env = {
        **gw.env,
        "GATEWAYZ_URL": gw.url,
        "ADMIN_KEY": admin_key,
        "GATEWAYZ_CONFIG": str(gw.workdir / "gatewayz.yaml"),
        "JS_CLIENT_DIR": str(ROOT / "clients" / "js"),
        "PATH": f"{os.path.dirname(PYTHON)}{os.pathsep}{os.environ['PATH']}",
    }

    def shell(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", docs[name]],
            cwd=gw.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    run = shell("run")
    assert run.returncode == 0, run.stdout + run.stderr
    printed = run.stdout.splitlines()
    shown = docs["run-output"].splitlines()
    assert [columns(line) for line in printed] == [columns(line) for line in shown], run.stdout
    assert printed[-2:] == shown[-2:]

    js = shell("js-client")
    assert js.returncode == 0, js.stdout + js.stderr
    shown = docs["js-client-output"].splitlines()
    assert [columns(line) for line in js.stdout.splitlines()] == [columns(r) for r in shown]

    live = shell("live")
    assert live.returncode == 0, live.stdout + live.stderr
    assert live.stdout.strip() == "my-chat is now live"

    read = subprocess.run(
        [PYTHON, "-c", docs["inference-id"]], env=env, capture_output=True, text=True, timeout=120
    )
    assert read.returncode == 0, read.stderr
    shown_id = read.stdout.strip().removeprefix("Inference-Id: ")
    assert str(uuid.UUID(shown_id)) == shown_id
