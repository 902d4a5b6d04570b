"""The embedded models answer well enough: the cases reported in issue 11, through a real
gateway over HTTP, and a sample of each labelled set in ``bench/eval/`` scored as
``bench/quality.py`` scores it, against floors a little below the measured figures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bench.quality import accuracy, entity_prf, load, rouge_l, rouge_n, split

from gatewayz.local.minilm import MiniLM
from gatewayz.local.ner import EntityRecognizer
from gatewayz.local.sentiment import VaderSentiment
from gatewayz.local.spacy_en import SpacyEnglish
from gatewayz.local.summarize import ExtractiveSummarizer
from gatewayz.local.zeroshot import ZeroShotClassifier
from tests.servers import Gateway

SAMPLE = 30  # examples of each set's held-out half; the whole sample runs in a few seconds

# A three-sentence paragraph whose most "central" sentence by TextRank (what the
# summarizer used before) is its least informative one, "It is a phone."
PHONE = (
    "Our new phone has a 6.1-inch screen and a battery that lasts two days. "
    "It is a phone. "
    "It goes on sale next month for 499 dollars in Europe and the United States."
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    """The embedded default, no configuration."""
    server = Gateway(tmp_path_factory.mktemp("quality"), None)
    yield server, server.create_key("quality")
    server.stop()


def task(gateway: tuple[Gateway, str], name: str, body: dict[str, Any]) -> Any:
    server, key = gateway
    resp = httpx.post(
        f"{server.url}/hf/tasks/{name}",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_the_striker_is_about_sports(gateway: tuple[Gateway, str]) -> None:
    out = task(
        gateway,
        "zero-shot-classification",
        {
            "model": "minilm-zero-shot",
            "inputs": "The striker scored twice in the cup final.",
            "parameters": {"candidate_labels": ["sports", "politics", "cooking"]},
        },
    )
    assert out[0]["label"] == "sports"


def test_a_three_sentence_paragraph_is_not_summed_up_by_its_emptiest_sentence(
    gateway: tuple[Gateway, str],
) -> None:
    out = task(gateway, "summarization", {"model": "minilm-textrank-summarizer", "inputs": PHONE})
    summary = out[0]["summary_text"]
    assert summary in PHONE
    assert "It is a phone." not in summary
    assert "6.1-inch screen" in summary or "499 dollars" in summary
    # With four sentences two are taken: the second must add something too.
    longer = task(
        gateway,
        "summarization",
        {"model": "minilm-textrank-summarizer", "inputs": PHONE + " Reviewers praised the camera."},
    )[0]["summary_text"]
    assert "6.1-inch screen" in longer and "It is a phone." not in longer, longer


def test_a_complaint_without_sentiment_words_is_negative(gateway: tuple[Gateway, str]) -> None:
    out = task(
        gateway,
        "text-classification",
        {
            "model": "vader-sentiment",
            "inputs": "My order never arrived and nobody answers the phone.",
        },
    )
    assert out[0][0]["label"] == "NEGATIVE"


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM()


@pytest.fixture(scope="module")
def spacy() -> SpacyEnglish:
    return SpacyEnglish()


def sample(name: str) -> list[dict[str, Any]]:
    return split(load(name), "test")[:SAMPLE]


def test_zero_shot_sample(minilm: MiniLM) -> None:
    classifier = ZeroShotClassifier(minilm)
    rows = sample("zero-shot")
    answers = [classifier.classify(r["text"], r["candidate_labels"])[0]["label"] for r in rows]
    assert accuracy([r["label"] for r in rows], answers) >= 0.93


def test_sentiment_sample(minilm: MiniLM) -> None:
    sentiment = VaderSentiment(minilm)
    rows = sample("sentiment")
    answers = [sentiment.classify(r["text"])[0]["label"] for r in rows]
    assert accuracy([r["label"] for r in rows], answers) >= 0.86


def test_ner_sample(spacy: SpacyEnglish) -> None:
    ner = EntityRecognizer(spacy, scheme="conll")
    rows = sample("ner")
    found = [[(e["word"], e["entity_group"]) for e in ner.recognize(r["text"])] for r in rows]
    gold = [[(e["word"], e["type"]) for e in r["entities"]] for r in rows]
    assert entity_prf(gold, found).f1 >= 0.80


def test_summarization_sample(minilm: MiniLM, spacy: SpacyEnglish) -> None:
    summarizer = ExtractiveSummarizer(minilm, spacy)
    rows = sample("summarization")
    pairs = [(r["summary"], summarizer.summarize(r["text"])) for r in rows]
    assert sum(rouge_n(ref, got, 1) for ref, got in pairs) / len(pairs) >= 0.48
    assert sum(rouge_n(ref, got, 2) for ref, got in pairs) / len(pairs) >= 0.26
    assert sum(rouge_l(ref, got) for ref, got in pairs) / len(pairs) >= 0.41


def test_rouge_and_entity_f1_are_computed_correctly() -> None:
    assert rouge_n("the cat sat on the mat", "the cat sat on the mat", 2) == 1.0
    # unigrams: 4 of 6 reference words (the, cat, the, mat), 4 of 4 candidate words
    assert rouge_n("the cat sat on the mat", "the cat the mat", 1) == pytest.approx(0.8)
    assert rouge_l("a b c d e", "a x c e") == pytest.approx(2 * (3 / 4) * (3 / 5) / (3 / 4 + 3 / 5))
    assert rouge_n("a b", "c d", 1) == 0.0
    prf = entity_prf(
        [[("The Louvre", "LOC"), ("Paris", "LOC")]], [[("Louvre", "LOC"), ("Paris", "ORG")]]
    )
    assert (prf.precision, prf.recall) == (0.5, 0.5)


def test_the_sets_are_big_enough_and_split_in_halves() -> None:
    for name in ("zero-shot", "sentiment", "ner", "summarization"):
        rows = load(name)
        assert len(rows) >= 100, name
        tune, test = split(rows, "tune"), split(rows, "test")
        assert len(tune) + len(test) == len(rows) and min(len(tune), len(test)) > 0.3 * len(rows)
