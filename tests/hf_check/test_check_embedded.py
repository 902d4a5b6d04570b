"""``gatewayz hf check`` on the embedded default, honestly: every task model passes,
through ``huggingface_hub`` and ``@huggingface/inference`` alike; the
135M chat model follows a JSON schema (a grammar holds it) but, asked with
``tool_choice: auto``, answers in text instead of calling the tool, and the check says so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.hf_check.conftest import hf_check_json, probes
from tests.servers import Gateway

CHAT = "smollm2-135m-instruct"
TASK_MODELS = (
    "all-minilm-l6-v2",
    "minilm-zero-shot",
    "minilm-textrank-summarizer",
    "en-core-web-sm",
    "vader-sentiment",
    "apertium-en-es",
)


@pytest.fixture(scope="module")
def embedded(
    tmp_path_factory: pytest.TempPathFactory, js_library: None
) -> Iterator[tuple[Gateway, str]]:
    server = Gateway(tmp_path_factory.mktemp("hf-check-embedded"), None)
    try:
        yield server, server.create_key("admin", "--admin")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def report(embedded: tuple[Gateway, str]) -> tuple[int, dict[str, Any]]:
    gw, key = embedded
    return hf_check_json(gw, key)


def test_the_embedded_default_fails_only_the_tool_call(
    report: tuple[int, dict[str, Any]],
) -> None:
    code, doc = report
    assert code == 1 and doc["passed"] is False
    assert {m["model"] for m in doc["models"]} == {CHAT, *TASK_MODELS}
    chat = probes(doc, CHAT)
    assert chat["tool_call"]["result"] == "fail"
    # It answers in text. (On a 2-core machine shared by many test runs, llama.cpp can be
    # slowed past the client's 120 s timeout: then the probe fails for that, and says so.)
    reason = chat["tool_call"]["reason"]
    assert "no tool call with tool_choice auto" in reason or "timed out" in reason, reason
    for name in ("call", "shape", "inference_id", "stream", "inference_id_stream"):
        assert chat[name]["result"] == "pass", chat[name]
    assert chat["no_tool_call"]["result"] == "pass"
    # The schema becomes a grammar: the 135M model's answer validates.
    assert chat["json_schema"]["result"] == "pass", chat["json_schema"]
    assert chat["first_token"]["latency_ms"] is not None
    # Through @huggingface/inference too (tools and schemas are probed through Python only).
    js = probes(doc, CHAT, "js")
    for name in ("call", "shape", "inference_id", "stream", "inference_id_stream"):
        assert js[name]["result"] == "pass", js[name]


@pytest.mark.parametrize("model", TASK_MODELS)
def test_every_embedded_task_model_answers_in_its_tasks_shape(
    report: tuple[int, dict[str, Any]], model: str
) -> None:
    _, doc = report
    for client in ("python", "js"):
        found = probes(doc, model, client)
        for name in ("call", "shape", "inference_id", "latency"):
            assert found[name]["result"] == "pass", (client, found[name])
    (entry,) = [m for m in doc["models"] if m["model"] == model]
    assert entry["recorded"] is True
