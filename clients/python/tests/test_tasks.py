"""Every Hugging Face task method against the live gateway, sync and async."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from conftest import Client
from gatewayz_py_hf import (
    ClassificationOutput,
    FillMaskOutput,
    SummarizationOutput,
    TextGenerationOutput,
    TokenClassificationOutput,
)

TOWER = (
    "The Eiffel Tower is a wrought-iron lattice tower in Paris. It was named after the "
    "engineer Gustave Eiffel, whose company designed and built it. It was constructed "
    "from 1887 to 1889 as the entrance to the 1889 World's Fair. It has become a global "
    "cultural icon of France."
)


def test_text_generation(client: Client) -> None:
    result = client.text_generation(
        "The capital of France is",
        model="gpt-3.5-turbo",
        max_new_tokens=3,
        temperature=0,
        details=True,
        return_full_text=True,
    )
    assert isinstance(result.output[0], TextGenerationOutput)
    assert result.generated_text == result.output[0].generated_text
    assert result.generated_text.startswith("The capital of France is")
    assert len(result.generated_text) > len("The capital of France is")
    details = result.output[0].details
    assert details is not None and 0 < details.generated_tokens <= 3
    assert len(result.inference_id) == 36


def test_text_generation_stream(client: Client) -> None:
    rid, events = client.collect(
        "text_generation_stream",
        "Count: one, two,",
        model="gpt-3.5-turbo",
        max_new_tokens=3,
        temperature=0,
    )
    assert len(events) >= 2 and len(rid) == 36
    assert [e.index for e in events] == list(range(1, len(events) + 1))
    assert all(e.generated_text is None for e in events[:-1])
    last = events[-1]
    assert last.generated_text == "".join(e.token.text for e in events)
    assert last.details is not None and last.details.generated_tokens == len(events)
    assert all(e.inference_id == rid for e in events)


def test_conversational(client: Client) -> None:
    # A list of messages with one client and a plain user message with the other: both
    # share the body-building code, so each form is covered once.
    messages = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "What colour is the sky?"},
    ]
    inputs = "What colour is the sky?" if client.is_async else messages
    result = client.conversational(inputs, model="smol-chat", max_new_tokens=3, temperature=0)
    assert result.generated_text.strip()
    assert result.generated_text == result.output[0].generated_text


def test_summarization(client: Client) -> None:
    result = client.summarization(TOWER, model="summarizer")
    assert isinstance(result.output[0], SummarizationOutput)
    sentences = [s.strip(" .") for s in result.summary_text.split(". ") if s.strip()]
    assert sentences and all(s in TOWER for s in sentences)  # extractive
    assert len(result.summary_text) < len(TOWER)


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apt-get install apertium-eng-spa")
def test_translation(client: Client) -> None:
    result = client.translation(
        "The cat is sleeping.", model="apertium", src_lang="en", tgt_lang="es"
    )
    assert "gato" in result.translation_text.lower()


def test_question_answering_gives_a_span(client: Client) -> None:
    result = client.question_answering("Who designed the tower?", TOWER, model="qa")
    best = result.output[0]
    assert result.answer == best.answer and best.answer
    assert TOWER[best.start : best.end] == best.answer and 0 <= best.score <= 1


def test_text_classification(client: Client) -> None:
    good = client.text_classification("I love this, it is wonderful", model="sentiment")
    bad = client.text_classification("The worst movie, terrible", model="sentiment")
    assert isinstance(good.output[0], ClassificationOutput)
    assert good.label == "POSITIVE" and bad.label == "NEGATIVE"
    assert good.output == sorted(good.output, key=lambda o: -o.score)


def test_token_classification(client: Client) -> None:
    text = "Tim Cook said Apple will invest $1 billion in Texas."
    result = client.token_classification(text, model="ner", aggregation_strategy="simple")
    assert all(isinstance(e, TokenClassificationOutput) for e in result.output)
    found = {(e.word, e.entity_group) for e in result.output}
    assert ("Tim Cook", "PERSON") in found and ("Apple", "ORG") in found
    assert all(text[e.start : e.end] == e.word for e in result.output)


def test_feature_extraction(client: Client) -> None:
    one = client.feature_extraction("The cat sat on the mat.", model="minilm", normalize=True)
    assert len(one.output) == 1 and len(one.output[0]) == 384
    assert abs(math.sqrt(sum(x * x for x in one.output[0])) - 1) < 1e-3
    many = client.feature_extraction(
        ["a cat", "a kitten", "stock markets fell"], model="minilm", normalize=True
    )
    cat, kitten, stocks = many.output

    def dot(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert dot(cat, kitten) > dot(cat, stocks) + 0.2


def test_sentence_similarity(client: Client) -> None:
    result = client.sentence_similarity(
        "A cat is sleeping", ["A kitten naps", "Rates rose"], model="minilm"
    )
    assert len(result.output) == 2 and result.output[0] > result.output[1]


def test_fill_mask(client: Client) -> None:
    result = client.fill_mask("Paris is the capital of [MASK].", model="fill", top_k=3)
    assert result.output and all(isinstance(o, FillMaskOutput) for o in result.output)
    assert all("[MASK]" not in o.sequence and o.token_str in o.sequence for o in result.output)


def test_zero_shot_classification(client: Client) -> None:
    result = client.zero_shot_classification(
        "The team won the match in overtime", ["sports", "politics", "cooking"], model="zero-shot"
    )
    assert result.label == "sports"
    assert abs(sum(o.score for o in result.output) - 1) < 1e-6


def test_text_to_image(client: Client) -> None:
    result = client.text_to_image("a red square", model="painter", width=64, height=96, seed=3)
    assert result.media_type == "image/png"
    assert result.output.startswith(b"\x89PNG\r\n\x1a\n")
    image = result.image  # Pillow is installed with the dev extra
    assert image.size == (64, 96) and image.format == "PNG"
    again = client.text_to_image("a red square", model="painter", width=64, height=96, seed=3)
    assert again.output == result.output and again.inference_id != result.inference_id


def test_text_to_image_save(client: Client, tmp_path: Path) -> None:
    result = client.text_to_image("blue", model="painter")
    assert result.save(tmp_path / "out.png").read_bytes() == result.output


def test_run_task(client: Client) -> None:
    classified = client.run_task("text-classification", "I love it", model="sentiment")
    assert classified.media_type == "application/json"
    assert classified.output[0][0]["label"] == "POSITIVE"
    image = client.run_task("image-generation", "a cat", model="painter")  # an older HF task name
    assert image.media_type == "image/png" and image.output.startswith(b"\x89PNG")
