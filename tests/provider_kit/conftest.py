"""One embedded-default gateway for the provider kit's tests, and a kit generated from its
registry with the kit's base URL pointed at it.

The registry also holds a staging chat model (the kit is asked to include staging
entries) whose gateway id is hostile (quotes, a closing
script tag, template braces, a table bar): it sorts first, so it is the model the
generated tests and the clients call for chat and text generation, and every generated
file must carry it escaped.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import PYTHON, Gateway

NAME = "gwz-kit"
DISPLAY = "Gwz & Co"
HOSTILE_ID = "evil\"'</script>{{x}}|`${y}`"
HOSTILE_HUB = "0test/evil-chat"  # sorts first: the example for chat


@dataclass
class Kit:
    gateway: Gateway
    out: Path
    manifest: dict[str, Any]

    def file(self, rel: str) -> Path:
        return self.out / rel

    def model(self, task: str) -> dict[str, Any]:
        """The offered model the kit's tests call for ``task``."""
        example = self.manifest["examples"][task]
        return next(
            m
            for m in self.manifest["models"]
            if (m["hub_model_id"], m["provider_model_id"])
            == (example["hub_model_id"], example["provider_model_id"])
        )


def run_kit(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "gatewayz", "hf", "provider-kit", *args],
        cwd=gateway.workdir,
        env=gateway.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


ALL_TASKS_NAME = "gwz-all"


def all_tasks_kit(out: Path, base_url: str = "https://api.example.com") -> dict[str, Any]:
    """A kit written without a gateway, whose offer covers every task the kit knows (the
    embedded default serves nine), with hostile gateway ids; returns its kit.json."""
    from gatewayz.config import ModelConfig, Pricing, RouteConfig
    from gatewayz.provider_kit.identity import identity
    from gatewayz.provider_kit.kit import build, generated_logos
    from gatewayz.provider_kit.offer import offer_of
    from gatewayz.provider_kit.task_names import CALLS
    from gatewayz.provider_kit.writer import check_out, write

    models = [
        ModelConfig(
            id=f"{task}-{HOSTILE_ID}",
            hub_model_id=f"org/{task}",
            task=task,  # type: ignore[arg-type]
            routes=(RouteConfig(provider="local", model="x"),),
            pricing=Pricing(input_per_million_usd="0.25", per_image_usd="0.002"),
        )
        for task in CALLS
    ]
    who = identity(ALL_TASKS_NAME, base_url, display="R&D All")
    write(check_out(str(out)), build(who, offer_of(models), generated_logos(who)))
    return dict(json.loads((out / "kit.json").read_text()))


@pytest.fixture(scope="package")
def kit_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = Gateway(tmp_path_factory.mktemp("kit-gateway"), None)
    yield server
    server.stop()


# A live model of the embedded default that passes every probe of 'gatewayz hf check' quickly.
CHECKED = "all-minilm-l6-v2"


@pytest.fixture(scope="package")
def checked(kit_gateway: Gateway, kit: Kit) -> str:
    """``CHECKED`` with a real, recorded, passing conformance check (after ``kit`` was
    written, so that the kit above holds the embedded default's unchecked models)."""
    admin = kit_gateway.create_key("kit-checker", "--admin")
    done = kit_gateway.cli(
        *("hf", "check", "--url", kit_gateway.url, "--key", admin, "--model", CHECKED),
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{CHECKED}: PASSED (recorded)" in done.stdout
    return CHECKED


@pytest.fixture(scope="package")
def kit(kit_gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Kit:
    gw = kit_gateway
    mapped = gw.cli(
        "models",
        "map",
        "--id",
        HOSTILE_ID,
        "--hub",
        HOSTILE_HUB,
        "--task",
        "conversational",
        "--status",
        "staging",
        "--route",
        "local:smollm2-135m-instruct",
        "--price",
        "input_per_million_usd=0.50",
        "--price",
        "output_per_million_usd=1.50",
    )
    assert "created" in mapped.stdout, mapped.stderr
    out = tmp_path_factory.mktemp("kit") / "out"
    done = run_kit(
        gw,
        *("--name", NAME, "--base-url", gw.url, "--out", str(out)),
        *("--display-name", DISPLAY, "--include-staging"),
    )
    assert done.returncode == 0, done.stderr
    assert f"files in {out}" in done.stdout
    manifest = json.loads((out / "kit.json").read_text())
    return Kit(gw, out, manifest)
