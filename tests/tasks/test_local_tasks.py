"""Every task the embedded models serve, through the official huggingface_hub client, the
openai SDK and plain HTTP, with no upstream at all."""

from __future__ import annotations

import shutil

import httpx
import numpy as np
import openai
import pytest
from huggingface_hub import InferenceClient

from tests.servers import Gateway


def hf(gateway: Gateway, key: str, model: str) -> InferenceClient:
    return InferenceClient(
        model=f"{gateway.url}/models/gatewayz-test/{model}", token=key, timeout=120
    )


def test_feature_extraction(local_gateway: Gateway, local_key: str) -> None:
    vectors = hf(local_gateway, local_key, "local-feature-extraction").feature_extraction(
        "The cat sat on the mat."
    )
    assert vectors.shape == (1, 384)
    assert abs(float(np.linalg.norm(vectors[0])) - 1) < 1e-3


def test_feature_extraction_pipeline_route_and_batch(
    local_gateway: Gateway, local_key: str
) -> None:
    resp = httpx.post(
        f"{local_gateway.url}/models/local-feature-extraction/pipeline/feature-extraction",
        json={"inputs": ["a cat", "a kitten", "stock markets fell"], "normalize": True},
        headers={"Authorization": f"Bearer {local_key}"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    cat, kitten, stocks = (np.array(v) for v in resp.json())
    assert cat @ kitten > cat @ stocks + 0.2


def test_openai_embeddings_route(local_gateway: Gateway, local_key: str) -> None:
    client = openai.OpenAI(base_url=f"{local_gateway.url}/v1", api_key=local_key)
    result = client.embeddings.create(
        model="local-feature-extraction", input=["hello world", "goodbye"]
    )
    assert len(result.data) == 2 and len(result.data[0].embedding) == 384
    assert result.usage.prompt_tokens > 0
    floats = client.embeddings.create(
        model="local-feature-extraction", input="hello world", encoding_format="float"
    )
    assert np.allclose(floats.data[0].embedding, result.data[0].embedding, atol=1e-5)


def test_sentence_similarity(local_gateway: Gateway, local_key: str) -> None:
    scores = hf(local_gateway, local_key, "local-sentence-similarity").sentence_similarity(
        "A cat is sleeping", other_sentences=["A kitten naps", "Interest rates rose"]
    )
    assert len(scores) == 2 and scores[0] > scores[1]


def test_zero_shot(local_gateway: Gateway, local_key: str) -> None:
    out = hf(local_gateway, local_key, "local-zero-shot-classification").zero_shot_classification(
        "The team won the match in overtime", candidate_labels=["sports", "politics", "cooking"]
    )
    assert out[0].label == "sports"
    assert abs(sum(o.score for o in out) - 1) < 1e-6


def test_summarization_is_extractive(local_gateway: Gateway, local_key: str) -> None:
    text = (
        "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was named after the "
        "engineer Gustave Eiffel, whose company designed and built it. It was constructed "
        "from 1887 to 1889 as the entrance to the 1889 World's Fair. Locals first "
        "criticised its design. It has become a global cultural icon of France."
    )
    out = hf(local_gateway, local_key, "local-summarization").summarization(text)
    assert (out.summary_text and out.summary_text in text) or all(
        s.strip() in text for s in out.summary_text.split(". ") if s.strip()
    )


def test_token_classification(local_gateway: Gateway, local_key: str) -> None:
    text = "Tim Cook said Apple will invest $1 billion in Texas."
    out = hf(local_gateway, local_key, "local-token-classification").token_classification(text)
    found = {(e.word, e.entity_group) for e in out}
    assert ("Tim Cook", "PERSON") in found and ("Apple", "ORG") in found
    for e in out:
        assert text[e.start : e.end] == e.word and 0 <= e.score <= 1


def test_text_classification(local_gateway: Gateway, local_key: str) -> None:
    client = hf(local_gateway, local_key, "local-text-classification")
    assert client.text_classification("I love this, it is wonderful")[0].label == "POSITIVE"
    assert client.text_classification("The worst movie, terrible")[0].label == "NEGATIVE"


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apt-get install apertium-eng-spa")
def test_translation(local_gateway: Gateway, local_key: str) -> None:
    resp = httpx.post(
        f"{local_gateway.url}/hf/tasks/translation",
        json={"inputs": "The cat is sleeping.", "parameters": {"src_lang": "en", "tgt_lang": "es"}},
        headers={"Authorization": f"Bearer {local_key}"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    assert "gato" in resp.json()[0]["translation_text"].lower()


def test_translation_without_languages_needs_a_fixed_direction(
    local_gateway: Gateway, local_key: str
) -> None:
    # This gateway's translation model is routed to "default", which fixes no direction.
    resp = httpx.post(
        f"{local_gateway.url}/hf/tasks/translation",
        json={"inputs": "The cat is sleeping."},
        headers={"Authorization": f"Bearer {local_key}"},
        timeout=60,
    )
    assert resp.status_code == 422, resp.text
    assert "no fixed direction" in resp.json()["error"]
    assert "src_lang" in resp.json()["error"]


@pytest.mark.parametrize("task", ["text-to-image", "translation"])
def test_no_local_model_is_a_clear_501_or_4xx(
    local_gateway: Gateway, local_key: str, task: str
) -> None:
    params = {"src_lang": "en", "tgt_lang": "ja"} if task == "translation" else {}
    resp = httpx.post(
        f"{local_gateway.url}/hf/tasks/{task}",
        json={"inputs": "a prompt", "parameters": params},
        headers={"Authorization": f"Bearer {local_key}"},
        timeout=60,
    )
    # No embedded text-to-image model on this install: 501; a language pair the embedded
    # translator lacks is the request's problem: 422.
    assert resp.status_code == (501 if task == "text-to-image" else 422), resp.text
    assert "upstream" in resp.json()["error"]


def test_usage_recorded_per_task(local_gateway: Gateway, local_key: str) -> None:
    resp = httpx.post(
        f"{local_gateway.url}/hf/tasks/text-classification",
        json={"inputs": "fine", "model": "local-text-classification"},
        headers={"Authorization": f"Bearer {local_key}"},
        timeout=60,
    )
    assert resp.status_code == 200
    rows = local_gateway.rows(
        "SELECT task, input_chars, cost_nano_usd, status FROM usage_records WHERE request_id = ?",
        resp.headers["inference-id"],
    )
    # $0.0001 per request + $0.00002 per 1,000 chars x 4 chars = 100,000 + 80 nano-USD
    assert [tuple(r) for r in rows] == [("text-classification", 4, 100_080, 200)]


def test_task_requests_spend_credits(local_gateway: Gateway) -> None:
    """$0.00015 of credit covers one request priced $0.0001 + 4 chars x $0.00002/1k."""
    key = local_gateway.create_key("metered", "--balance-usd", "0.00015")

    def call() -> httpx.Response:
        return httpx.post(
            f"{local_gateway.url}/hf/tasks/text-classification",
            json={"inputs": "fine", "model": "local-text-classification"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )

    assert call().status_code == 200
    refused = call()
    assert refused.status_code == 402
    assert "49920 nano-USD" in refused.json()["error"]
