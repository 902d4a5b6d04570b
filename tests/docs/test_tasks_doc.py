"""docs/TASKS.md is run: its configuration starts a real gateway (with real local servers in
place of the upstream URLs), every request in it is sent, and every answer must have the
shape the document shows."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.servers import ROOT, Gateway, ImageUpstream, LlamaUpstream

DOC = (ROOT / "docs" / "TASKS.md").read_text()
BLOCK = re.compile(r"```(\w+) (\w+)\n(.*?)```", re.S)


def blocks(kind: str) -> list[str]:
    return [body for lang, k, body in BLOCK.findall(DOC) if k == kind]


def examples() -> list[tuple[str, dict[str, Any], Any]]:
    """(path, request body, answer shape or None for PNG) in document order."""
    out = []
    parts = re.split(r"\n### ", DOC)[1:]
    for part in parts:
        request = re.search(r"```http request\nPOST (\S+)\n(.*?)```", part, re.S)
        answer = re.search(r"```json response\n(.*?)```", part, re.S)
        assert request, part[:80]
        out.append(
            (
                request.group(1),
                json.loads(request.group(2)),
                json.loads(answer.group(1)) if answer else None,
            )
        )
    return out


def same_shape(actual: Any, example: Any, where: str = "answer") -> None:
    if isinstance(example, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(example), f"{where}: keys {set(actual)} != {set(example)}"
        for key, value in example.items():
            if value is not None:
                same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list), where
        if example:
            assert actual, f"{where}: empty"
            for item in actual:
                same_shape(item, example[0], f"{where}[]")
    elif isinstance(example, bool):
        assert isinstance(actual, bool), where
    elif isinstance(example, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), where
    else:
        assert isinstance(actual, type(example)), f"{where}: {actual!r}"


@pytest.fixture(scope="module")
def doc_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    llama_upstream: LlamaUpstream,
    image_upstream: ImageUpstream,
) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("docs")
    (config_text,) = blocks("config")
    config = yaml.safe_load(config_text)
    urls = {"llm": llama_upstream.base_url, "images": image_upstream.base_url}
    for provider in config["providers"]:
        if provider["name"] in urls:
            provider["base_url"] = urls[provider["name"]]
    config["database_url"] = f"sqlite:///{workdir / 'gw.db'}"
    server = Gateway(workdir, config)
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("path", "body", "shape"), examples(), ids=[e[0].rsplit("/", 1)[-1] for e in examples()]
)
def test_example(doc_gateway: Gateway, path: str, body: dict[str, Any], shape: Any) -> None:
    if body.get("model") == "apertium-en-es" and shutil.which("apertium") is None:
        pytest.skip("apertium is not installed (scripts/setup.sh installs it as root)")
    key = getattr(doc_gateway, "_doc_key", None) or doc_gateway.create_key("docs")
    doc_gateway._doc_key = key  # type: ignore[attr-defined]
    resp = httpx.post(
        f"{doc_gateway.url}{path}",
        json=body,
        timeout=120,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["inference-id"]
    if shape is None:
        assert resp.headers["content-type"] == "image/png"
        assert resp.content.startswith(b"\x89PNG")
    else:
        same_shape(resp.json(), shape)


def test_embedded_ids_match_the_default() -> None:
    """The ids the document says need no configuration are the embedded default's."""
    from gatewayz.config import embedded_default

    (config_text,) = blocks("config")
    local = {
        m["id"]
        for m in yaml.safe_load(config_text)["models"]
        if m["routes"][0]["provider"] == "local"
    }
    assert local == {m.id for m in embedded_default().models}


def test_documented_defaults_match_the_embedded_default() -> None:
    """The table of defaults and the example configuration agree with the embedded
    default for every task an embedded model serves."""
    from gatewayz.config import embedded_default

    (config_text,) = blocks("config")
    documented = yaml.safe_load(config_text)["default_models"]
    embedded = embedded_default().default_models
    assert {t: documented[t] for t in embedded} == embedded
    table = dict(re.findall(r"^\| ([a-z-]+(?:, [a-z-]+)?) \| `([\w.-]+)` \|$", DOC, re.M))
    assert {t: m for tasks, m in table.items() for t in tasks.split(", ")} == embedded


def test_examples_outside_the_embedded_default_say_so_first() -> None:
    """A section whose example names a model the embedded default lacks opens by saying it
    needs an upstream; the others do not say it."""
    from gatewayz.config import embedded_default

    embedded = {m.id for m in embedded_default().models}
    for part in re.split(r"\n### ", DOC)[1:]:
        request = re.search(r"```http request\nPOST \S+\n(.*?)```", part, re.S)
        assert request
        model = json.loads(request.group(1)).get("model")
        first_paragraph = part.split("\n\n")[1]
        says_so = first_paragraph.startswith("**Needs an upstream, not in the embedded default**")
        assert says_so == (model not in embedded), part.split("\n")[0]
