"""``scripts/build.sh`` builds every package's artifacts in one command; the clients' artifacts
install into clean environments (a fresh venv for the Python wheel and sdist, a fresh npm
project for the JavaScript tarball, installed offline) and call a live embedded-default
gateway from there. (The gateway's own wheel is installed and run by the packaging test of
the server.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import PYTHON, ROOT, Gateway

GATEWAY_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
CLIENT_VERSION = tomllib.loads((ROOT / "clients/python/pyproject.toml").read_text())["project"][
    "version"
]
JS_VERSION = json.loads((ROOT / "clients/js/package.json").read_text())["version"]
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"  # no venv of this checkout on it
WHEEL = f"gatewayz_py_hf-{CLIENT_VERSION}-py3-none-any.whl"
SDIST = f"gatewayz_py_hf-{CLIENT_VERSION}.tar.gz"
TARBALL = f"gatewayz-js-hf-{JS_VERSION}.tgz"


def readme_commands() -> tuple[str, str, str]:
    """The README's three lines: build, install the Python client, install the JS client."""
    block = re.search(r"<!-- readme: packages -->\n```bash\n(.*?)```", README, re.S)
    assert block, "the README lost its packages block"
    build, pip, npm = block.group(1).splitlines()
    assert pip.startswith(f"pip install ./dist/{WHEEL} ")
    assert npm.startswith(f"npm install ./dist/{TARBALL} ")
    return build, pip, npm


README = (ROOT / "README.md").read_text()
BUILD, PIP_INSTALL, NPM_INSTALL = readme_commands()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # As written in the README, run from the checkout, with a directory to write to.
    done = subprocess.run(
        [*shlex.split(BUILD, comments=True), str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHON": PYTHON},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    server = Gateway(tmp_path_factory.mktemp("build-gateway"), None)
    yield server, server.create_key("packages")
    server.stop()


def test_one_command_builds_every_artifact(dist: Path) -> None:
    assert {p.name for p in dist.iterdir()} == {
        f"gatewayz-{GATEWAY_VERSION}-py3-none-any.whl",
        f"gatewayz-{GATEWAY_VERSION}.tar.gz",
        WHEEL,
        SDIST,
        TARBALL,
    }


@pytest.mark.parametrize(
    "artifact",
    [
        f"gatewayz_py_hf-{CLIENT_VERSION}-py3-none-any.whl",
        f"gatewayz_py_hf-{CLIENT_VERSION}.tar.gz",
    ],
)
def test_python_client_installs_in_a_fresh_venv_and_calls_the_gateway(
    dist: Path, embedded: tuple[Gateway, str], tmp_path: Path, artifact: str
) -> None:
    gateway, key = embedded
    venv = tmp_path / "venv"
    subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The README's line inside the activated venv (the sdist in place of the wheel).
    command = PIP_INSTALL.replace(f"./dist/{WHEEL}", str(dist / artifact))
    install = subprocess.run(
        ["bash", "-c", f". {venv}/bin/activate && {command}"],
        env={"PATH": CLEAN_PATH, "HOME": os.environ["HOME"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    script = (
        "import gatewayz_py_hf, pathlib\n"
        "from gatewayz_py_hf import GatewayzClient, NotFoundError\n"
        f"with GatewayzClient(api_key={key!r}, base_url={gateway.url!r}) as client:\n"
        "    result = client.text_classification('I love this!')\n"
        "    try:\n"
        "        client.summarization('x', model='missing')\n"
        "    except NotFoundError as e:\n"
        "        missing = e.status_code\n"
        "print(gatewayz_py_hf.__version__, pathlib.Path(gatewayz_py_hf.__file__).parent)\n"
        "print(result.label, result.inference_id, missing)\n"
    )
    done = subprocess.run(
        [str(python), "-c", script],
        cwd=tmp_path,
        env={"PATH": CLEAN_PATH},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (version, where), (label, request_id, missing) = (
        line.split() for line in done.stdout.splitlines()
    )
    assert version == CLIENT_VERSION
    assert Path(where).is_relative_to(venv)  # the installed copy, not this checkout
    assert label == "POSITIVE" and len(request_id) == 36 and missing == "404"


def test_js_client_tarball_installs_offline_in_a_fresh_project_and_calls_the_gateway(
    dist: Path, embedded: tuple[Gateway, str], tmp_path: Path
) -> None:
    gateway, key = embedded
    (tmp_path / "package.json").write_text('{"name": "consumer", "private": true}\n')
    # The README's line, offline (the package has no dependencies to fetch).
    install = subprocess.run(
        ["bash", "-c", NPM_INSTALL.replace("./dist/", f"{dist}/")],
        cwd=tmp_path,
        env={**os.environ, "npm_config_offline": "true"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env = {"PATH": CLEAN_PATH, "GATEWAYZ_API_KEY": key, "GATEWAYZ_BASE_URL": gateway.url}
    esm = (
        'import { createClient, NotFoundError } from "gatewayz-js-hf";\n'
        "const client = createClient();\n"
        'const result = await client.textClassification("I love this!");\n'
        'const err = await client.summarization("x", { model: "missing" }).catch((e) => e);\n'
        'console.log(import.meta.resolve("gatewayz-js-hf"));\n'
        "console.log(result[0][0].label, result.requestId, err instanceof NotFoundError);\n"
    )
    cjs = (
        'const { createClient } = require("gatewayz-js-hf");\n'
        'createClient().sentenceSimilarity({ source_sentence: "a cat", sentences: ["a cat"] })\n'
        '  .then((scores) => console.log(require.resolve("gatewayz-js-hf"), scores.length));\n'
    )
    outputs = []
    for args in (["--input-type=module", "-e", esm], ["-e", cjs]):
        done = subprocess.run(
            ["node", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split())
    (esm_path, label, request_id, not_found), (cjs_path, count) = outputs
    installed = tmp_path / "node_modules" / "gatewayz-js-hf" / "dist"
    assert esm_path == (installed / "esm" / "index.js").as_uri()
    assert cjs_path == str(installed / "cjs" / "index.js")
    assert label == "POSITIVE" and len(request_id) == 36 and not_found == "true"
    assert count == "1"
