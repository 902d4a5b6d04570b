"""The provider kit's section of docs/HUGGINGFACE_PROVIDER.md is run: its commands, as
written, against the embedded default's registry, and the files it lists are the files the
kit writes."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from gatewayz.cli import parser
from gatewayz.provider_kit.logos import svg_problem
from tests.provider_kit.conftest import Kit
from tests.servers import PYTHON, ROOT

DOC = ROOT / "docs" / "HUGGINGFACE_PROVIDER.md"
BLOCK = re.compile(r"<!-- provider-kit: ([\w-]+) -->\n```\w+\n(.*?)```", re.S)
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<rect fill="{}" width="10" height="10"/></svg>'
)


def blocks() -> dict[str, str]:
    return dict(BLOCK.findall(DOC.read_text()))


def test_the_commands_write_the_files_listed(kit: Kit, checked: str) -> None:
    """As the doc says, after 'gatewayz hf check' (``checked``) passed for a live model."""
    cwd: Path = kit.gateway.workdir  # the embedded default's ./gatewayz.db
    (cwd / "light.svg").write_text(LOGO.format("#000"))
    (cwd / "dark.svg").write_text(LOGO.format("#fff"))
    outputs = []
    for line in blocks()["cli"].splitlines():
        argv = shlex.split(line)
        assert argv[:3] == ["gatewayz", "hf", "provider-kit"]
        done = subprocess.run(
            [PYTHON, "-m", "gatewayz", *argv[1:]],
            cwd=cwd,
            env=kit.gateway.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    out = cwd / "provider-kit"
    listed = {line.split()[0] for line in blocks()["files"].splitlines() if line.strip()}
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written == listed
    manifest = json.loads((out / "kit.json").read_text())
    assert {f["file"] for f in manifest["files"]} == listed
    # The second command put the given logos in place and the display name in the docs.
    assert (out / "logos" / "acme-ai-dark.svg").read_text() == LOGO.format("#fff")
    assert svg_problem((out / "logos" / "acme-ai-light.svg").read_bytes()) is None
    page = out / "hub-docs/scripts/inference-providers/templates/providers/acme-ai.handlebars"
    assert page.read_text().startswith("# Acme AI\n")
    assert "https://api.acme.example/v1/billing/requests" in page.read_text()
    assert all("wrote the provider kit for 'acme-ai'" in o for o in outputs)


def test_the_readme_synopsis_names_the_commands_options(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("gatewayz hf provider-kit "))
    with pytest.raises(SystemExit):
        parser().parse_args(["hf", "provider-kit", "--help"])
    usage = capsys.readouterr().out
    assert set(re.findall(r"--[a-z-]+", line)) <= set(re.findall(r"--[a-z-]+", usage))
