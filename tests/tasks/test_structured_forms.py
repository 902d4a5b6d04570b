"""A task served by a chat model whose server refuses OpenAI's ``json_schema`` form: the
gateway asks again in llama.cpp's form, and from then on asks that server in that form
first (one request per call, not two)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.checks import bearer
from tests.servers import Gateway, UvicornUpstream
from tests.tasks.conftest import serve, task_model


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UvicornUpstream]:
    server = UvicornUpstream(
        "tests.tasks.schema_form_upstream:app", tmp_path_factory.mktemp("forms"), "forms"
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, upstream: UvicornUpstream
) -> Iterator[Gateway]:
    providers = [{"name": "llamacpp", "kind": "openai", "base_url": upstream.base_url}]
    models = [task_model("sentiment", "text-classification", "llamacpp", "sentiment")]
    yield from serve(tmp_path_factory, "forms-gateway", providers, models)


def test_a_server_refusing_json_schema_is_asked_in_its_own_form_from_then_on(
    gateway: Gateway, upstream: UvicornUpstream
) -> None:
    key = gateway.create_key("forms")
    with httpx.Client(base_url=gateway.url, headers=bearer(key), timeout=30) as http:
        for text, top in (("I love it.", "POSITIVE"), ("I hate it.", "NEGATIVE")):
            resp = http.post(
                "/hf/tasks/text-classification", json={"model": "sentiment", "inputs": text}
            )
            assert resp.status_code == 200, resp.text
            scores = resp.json()[0]
            assert scores[0]["label"] == top and 0 <= scores[0]["score"] <= 1
    sent = httpx.get(f"{upstream.base_url}/forms").json()
    assert sent == ["json_schema", "json_object", "json_object"]
