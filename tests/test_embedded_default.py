"""``gatewayz serve`` with no configuration at all: SQLite, the embedded SmolLM2 model, a
key, and a curl command that works as printed."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import InferenceClient

from tests.checks import bearer
from tests.servers import Gateway

KEY = re.compile(r"\bgz_[0-9a-f]+_[A-Za-z0-9_-]+")


def welcome(gateway: Gateway) -> str:
    deadline = time.monotonic() + 10
    while "curl" not in gateway.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    return gateway.log.read_text()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded")


@pytest.fixture(scope="module")
def first(workdir: Path) -> Iterator[Gateway]:
    assert list(workdir.iterdir()) == []
    gateway = Gateway(workdir, None)
    yield gateway
    gateway.stop()


def printed_key(gateway: Gateway) -> str:
    keys = set(KEY.findall(welcome(gateway)))
    assert len(keys) == 1, welcome(gateway)
    return str(keys.pop())


def test_starts_on_sqlite_and_keeps_the_key_private(first: Gateway, workdir: Path) -> None:
    assert httpx.get(f"{first.url}/ready").status_code == 200
    assert (workdir / "gatewayz.db").is_file()
    key_file = workdir / ".gatewayz-key"
    assert key_file.read_text().strip() == printed_key(first)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_printed_curl_works_as_pasted(first: Gateway) -> None:
    text = welcome(first)
    lines = text[text.index("curl ") :].splitlines()
    command = "\n".join(lines[: next(i for i, ln in enumerate(lines) if not ln.endswith("\\")) + 1])
    assert f":{first.port}/" in command
    out = subprocess.run(
        ["bash", "-c", command + " --silent --show-error --fail-with-body"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    answer = httpx.Response(200, content=out.stdout).json()
    assert answer["choices"][0]["message"]["content"].strip()
    assert answer["usage"]["completion_tokens"] > 0


def test_the_key_answers_chat_and_text_generation(first: Gateway) -> None:
    with httpx.Client(base_url=first.url, headers=bearer(printed_key(first)), timeout=120) as h:
        models = h.get("/v1/models").json()["data"]
        assert "smollm2-135m-instruct" in [m["id"] for m in models]
        chat = h.post(
            "/v1/chat/completions",
            json={
                "model": "smollm2-135m-instruct",
                "messages": [{"role": "user", "content": "What is the capital of France?"}],
                "max_tokens": 8,
            },
        )
        assert chat.status_code == 200, chat.text
        assert chat.json()["choices"][0]["message"]["content"].strip()
        assert chat.json()["usage"]["completion_tokens"] > 0
        stream = h.post(
            "/v1/chat/completions",
            json={
                "model": "smollm2-135m-instruct",
                "messages": [{"role": "user", "content": "Say hi."}],
                "max_tokens": 4,
                "stream": True,
            },
        )
        assert stream.text.rstrip().endswith("data: [DONE]")
        assert '"usage"' in stream.text
        gen = h.post(
            "/hf/tasks/text-generation",
            json={"inputs": "The capital of France is", "parameters": {"max_new_tokens": 6}},
        )
        assert gen.status_code == 200, gen.text
        assert gen.json()[0]["generated_text"].strip()


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apt-get install apertium-eng-spa")
def test_translation_without_languages_goes_the_models_way(first: Gateway) -> None:
    """Like a Hub translation model, apertium-en-es translates English to Spanish when the
    request names no languages, as huggingface_hub's and huggingface.js's clients send it;
    languages given in the request still choose the direction."""
    key = printed_key(first)
    client = InferenceClient(model=f"{first.url}/models/apertium-en-es", token=key, timeout=60)
    assert "gato" in client.translation("The cat is sleeping.").translation_text.lower()
    with httpx.Client(base_url=first.url, headers=bearer(key), timeout=60) as h:
        plain = h.post("/hf/tasks/translation", json={"inputs": "The dog is running."})
        assert plain.status_code == 200, plain.text
        assert "perro" in plain.json()[0]["translation_text"].lower()
        back = h.post(
            "/hf/tasks/translation",
            json={
                "model": "apertium-en-es",
                "inputs": "El perro duerme.",
                "parameters": {"src_lang": "es", "tgt_lang": "en"},
            },
        )
        assert back.status_code == 200, back.text
        assert "dog" in back.json()[0]["translation_text"].lower()


def test_a_second_start_shows_the_same_key(first: Gateway, workdir: Path) -> None:
    key = printed_key(first)
    first.stop()
    again = Gateway(workdir, None)
    try:
        assert printed_key(again) == key
        assert httpx.get(f"{again.url}/v1/models", headers=bearer(key)).status_code == 200
    finally:
        again.stop()
