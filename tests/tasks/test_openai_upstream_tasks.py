"""Every task served by a real OpenAI-compatible upstream, through the official
huggingface_hub InferenceClient and the /hf/tasks routes."""

from __future__ import annotations

import base64
import io

import httpx
import openai
import pytest
from huggingface_hub import InferenceClient
from PIL import Image

from tests.servers import Gateway

CONTEXT = "The Eiffel Tower was designed by the company of Gustave Eiffel and opened in 1889."


def hf(gateway: Gateway, key: str, model: str) -> InferenceClient:
    return InferenceClient(model=f"{gateway.url}/models/{model}", token=key, timeout=120)


def post(gateway: Gateway, key: str, path: str, body: object) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}{path}", json=body, timeout=120, headers={"Authorization": f"Bearer {key}"}
    )


def test_summarization(openai_tasks_gateway: Gateway, openai_tasks_key: str) -> None:
    text = (
        "The Eiffel Tower is a lattice tower in Paris. It was built from 1887 to 1889 "
        "for the World's Fair. It is 330 metres tall."
    )
    out = hf(openai_tasks_gateway, openai_tasks_key, "oa-summarization").summarization(text)
    assert isinstance(out.summary_text, str) and out.summary_text


def test_translation(openai_tasks_gateway: Gateway, openai_tasks_key: str) -> None:
    out = hf(openai_tasks_gateway, openai_tasks_key, "oa-translation").translation(
        "Good morning", src_lang="English", tgt_lang="Spanish"
    )
    assert isinstance(out.translation_text, str) and out.translation_text


def test_question_answering_answer_is_a_span(
    openai_tasks_gateway: Gateway, openai_tasks_key: str
) -> None:
    out = hf(openai_tasks_gateway, openai_tasks_key, "oa-question-answering").question_answering(
        question="Who designed the tower?", context=CONTEXT
    )
    assert CONTEXT[out.start : out.end] == out.answer
    assert 0 <= out.score <= 1


def test_text_classification(openai_tasks_gateway: Gateway, openai_tasks_key: str) -> None:
    out = hf(openai_tasks_gateway, openai_tasks_key, "oa-text-classification").text_classification(
        "I love this wonderful movie!"
    )
    assert {o.label for o in out} == {"POSITIVE", "NEGATIVE", "NEUTRAL"}
    assert abs(sum(o.score for o in out) - 1) < 1e-6
    assert [o.score for o in out] == sorted((o.score for o in out), reverse=True)


def test_token_classification_offsets_index_the_input(
    openai_tasks_gateway: Gateway, openai_tasks_key: str
) -> None:
    text = "Tim Cook runs Apple in California."
    out = hf(
        openai_tasks_gateway, openai_tasks_key, "oa-token-classification"
    ).token_classification(text)
    for entity in out:
        assert text[entity.start : entity.end] == entity.word
        assert entity.entity_group in {"PER", "ORG", "LOC", "MISC"}


def test_zero_shot_labels_are_the_candidates(
    openai_tasks_gateway: Gateway, openai_tasks_key: str
) -> None:
    labels = ["sports", "politics", "cooking"]
    out = hf(
        openai_tasks_gateway, openai_tasks_key, "oa-zero-shot-classification"
    ).zero_shot_classification("The team won the match in overtime", candidate_labels=labels)
    assert sorted(o.label for o in out) == sorted(labels)
    assert abs(sum(o.score for o in out) - 1) < 1e-6


def test_fill_mask_with_targets(openai_tasks_gateway: Gateway, openai_tasks_key: str) -> None:
    out = hf(openai_tasks_gateway, openai_tasks_key, "oa-fill-mask").fill_mask(
        "The capital of France is [MASK].", targets=["Paris", "London"]
    )
    assert out and all(o.token_str in {"Paris", "London"} for o in out)
    assert out[0].sequence == f"The capital of France is {out[0].token_str}."


def test_text_to_image_returns_png(openai_tasks_gateway: Gateway, openai_tasks_key: str) -> None:
    image = hf(openai_tasks_gateway, openai_tasks_key, "oa-text-to-image").text_to_image(
        "a red square", width=96, height=64
    )
    assert image.size == (96, 64)
    raw = post(
        openai_tasks_gateway,
        openai_tasks_key,
        "/hf/tasks/text-to-image",
        {"inputs": "a red square", "model": "oa-text-to-image"},
    )
    assert raw.status_code == 200 and raw.headers["content-type"] == "image/png"
    assert raw.content.startswith(b"\x89PNG")


def test_openai_images_route(openai_tasks_gateway: Gateway, openai_tasks_key: str) -> None:
    client = openai.OpenAI(base_url=f"{openai_tasks_gateway.url}/v1", api_key=openai_tasks_key)
    result = client.images.generate(
        model="oa-text-to-image", prompt="a cat", size="64x64", response_format="b64_json"
    )
    assert result.data and result.data[0].b64_json
    image = Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json)))
    assert image.size == (64, 64)


def test_chat_through_model_url(openai_tasks_gateway: Gateway, openai_tasks_key: str) -> None:
    out = hf(openai_tasks_gateway, openai_tasks_key, "oa-chat").chat_completion(
        messages=[{"role": "user", "content": "Say hi"}], max_tokens=8
    )
    assert out.choices[0].message.content
    assert out.usage.completion_tokens > 0


def test_text_generation_through_model_url(
    openai_tasks_gateway: Gateway, openai_tasks_key: str
) -> None:
    client = hf(openai_tasks_gateway, openai_tasks_key, "oa-chat")
    assert isinstance(client.text_generation("The capital of France is", max_new_tokens=5), str)
    tokens = list(client.text_generation("Once upon a time", max_new_tokens=6, stream=True))
    assert tokens and all(isinstance(t, str) for t in tokens)


def test_generic_runner_and_pipeline_route(
    openai_tasks_gateway: Gateway, openai_tasks_key: str
) -> None:
    body = {
        "task": "zero-shot-classification",
        "model": "oa-zero-shot-classification",
        "inputs": "I baked bread",
        "parameters": {"candidate_labels": ["cooking", "war"]},
    }
    run = post(openai_tasks_gateway, openai_tasks_key, "/hf/tasks/run", body)
    assert run.status_code == 200, run.text
    assert {x["label"] for x in run.json()} == {"cooking", "war"}
    pipe = post(
        openai_tasks_gateway,
        openai_tasks_key,
        "/models/gatewayz-test/oa-zero-shot-classification/pipeline/zero-shot-classification",
        {"inputs": "I baked bread", "parameters": {"candidate_labels": ["cooking", "war"]}},
    )
    assert pipe.status_code == 200, pipe.text


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        (
            "/hf/tasks/question-answering",
            {"inputs": {"question": "Who?"}, "model": "oa-question-answering"},
            "inputs.context",
        ),
        (
            "/hf/tasks/zero-shot-classification",
            {"inputs": "x", "model": "oa-zero-shot-classification"},
            "candidate_labels",
        ),
        (
            "/hf/tasks/translation",
            {"inputs": "hi", "model": "oa-translation", "parameters": {"src_lang": "en"}},
            "tgt_lang",
        ),
        ("/hf/tasks/fill-mask", {"inputs": "no mask here", "model": "oa-fill-mask"}, "[MASK]"),
        ("/hf/tasks/summarization", {"inputs": "", "model": "oa-summarization"}, "inputs"),
        ("/hf/tasks/summarization", {"inputs": "text", "model": "oa-chat"}, "serves"),
        ("/hf/tasks/no-such-task", {"inputs": "text"}, "unknown task"),
        ("/hf/tasks/run", {"inputs": "text"}, "task"),
        (
            "/hf/tasks/text-to-image",
            {"inputs": "x", "model": "oa-text-to-image", "parameters": {"width": 5}},
            "width",
        ),
    ],
)
def test_bad_inputs_are_4xx(
    openai_tasks_gateway: Gateway, openai_tasks_key: str, path: str, body: object, fragment: str
) -> None:
    resp = post(openai_tasks_gateway, openai_tasks_key, path, body)
    assert 400 <= resp.status_code < 500, resp.text
    assert fragment in resp.json()["error"]
    assert resp.json()["request_id"] == resp.headers["inference-id"]


def test_completions_under_the_model_url(
    openai_tasks_gateway: Gateway, openai_tasks_key: str
) -> None:
    """@huggingface/inference sends text generation to {endpointUrl}/v1/completions."""
    resp = post(
        openai_tasks_gateway,
        openai_tasks_key,
        "/models/gatewayz-test/oa-chat/v1/completions",
        {"prompt": "The capital of France is", "max_tokens": 4},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "oa-chat" and body["choices"][0]["text"]
    assert body["usage"]["completion_tokens"] > 0


def test_embeddings_and_similarity_through_openai_embeddings(
    openai_embeddings_gateway: Gateway,
) -> None:
    key = openai_embeddings_gateway.create_key("emb")
    client = hf(openai_embeddings_gateway, key, "oa-feature-extraction")
    vectors = client.feature_extraction("a cat")
    assert vectors.shape == (1, 384)
    scores = client.sentence_similarity("a cat", other_sentences=["a kitten", "tax law"])
    assert len(scores) == 2 and scores[0] > scores[1]
    via_openai = openai.OpenAI(base_url=f"{openai_embeddings_gateway.url}/v1", api_key=key)
    result = via_openai.embeddings.create(model="oa-feature-extraction", input=["a", "b"])
    assert len(result.data) == 2 and result.usage.prompt_tokens > 0
