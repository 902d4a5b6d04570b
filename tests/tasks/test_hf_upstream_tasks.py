"""Tasks served by an HF-compatible upstream (here: another gateway's /models/{id} routes):
bodies pass through in the HF format and answers are checked for shape."""

from __future__ import annotations

from huggingface_hub import InferenceClient

from tests.servers import Gateway


def hf(gateway: Gateway, key: str, model: str) -> InferenceClient:
    return InferenceClient(model=f"{gateway.url}/models/{model}", token=key, timeout=120)


def test_feature_extraction_through_hf_upstream(hf_gateway: Gateway, hf_key: str) -> None:
    vectors = hf(hf_gateway, hf_key, "hf-feature-extraction").feature_extraction("hello")
    assert vectors.shape == (1, 384)


def test_classification_tasks_through_hf_upstream(hf_gateway: Gateway, hf_key: str) -> None:
    out = hf(hf_gateway, hf_key, "hf-text-classification").text_classification("I love it")
    assert out[0].label == "POSITIVE"
    zs = hf(hf_gateway, hf_key, "hf-zero-shot-classification").zero_shot_classification(
        "Parliament passed the budget", candidate_labels=["politics", "sports"]
    )
    assert zs[0].label == "politics"
    sim = hf(hf_gateway, hf_key, "hf-sentence-similarity").sentence_similarity(
        "a dog", other_sentences=["a puppy", "taxes"]
    )
    assert sim[0] > sim[1]
