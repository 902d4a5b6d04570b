import pytest

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.minilm import MiniLM
from gatewayz.local.zeroshot import ZeroShotClassifier

TOPICS = ["sports", "politics", "technology", "cooking"]
PROBES = [
    ("The team won the match in overtime", "sports"),
    ("The senate passed the new budget bill after a long debate", "politics"),
    ("Apple released a new iPhone with a faster chip", "technology"),
    ("Whisk the eggs and fold in the flour", "cooking"),
]


@pytest.fixture(scope="module")
def classifier() -> ZeroShotClassifier:
    return ZeroShotClassifier(MiniLM())


@pytest.mark.parametrize(("text", "expected"), PROBES)
def test_probes_pick_the_right_topic(
    classifier: ZeroShotClassifier, text: str, expected: str
) -> None:
    result = classifier.classify(text, TOPICS)
    assert result[0]["label"] == expected
    assert result[0]["score"] > 0.5


def test_single_label_scores_sum_to_one_sorted(classifier: ZeroShotClassifier) -> None:
    result = classifier.classify(
        "I have a fever and a sore throat", ["health", "finance", "travel"]
    )
    assert sorted(r["label"] for r in result) == ["finance", "health", "travel"]
    assert sum(r["score"] for r in result) == pytest.approx(1.0)
    assert [r["score"] for r in result] == sorted((r["score"] for r in result), reverse=True)


def test_multi_label_scores_are_independent(classifier: ZeroShotClassifier) -> None:
    text = "The senate debated a bill to fund new school computers"
    result = {r["label"]: r["score"] for r in classifier.classify(text, TOPICS, multi_label=True)}
    assert all(0.0 <= s <= 1.0 for s in result.values())
    assert sum(result.values()) != pytest.approx(1.0)
    assert min(result["politics"], result["technology"]) > 0.5
    assert max(result["sports"], result["cooking"]) < 0.5


def test_hypothesis_template_is_used(classifier: ZeroShotClassifier) -> None:
    result = classifier.classify(
        "Whisk the eggs", TOPICS, hypothesis_template="This text is about {}."
    )
    assert result[0]["label"] == "cooking"


@pytest.mark.parametrize(
    ("labels", "template"),
    [
        ([], "This example is {}."),
        (["a", "a"], "This example is {}."),
        (["a", ""], "{}"),
        (["a", "b"], "no placeholder"),
    ],
)
def test_bad_parameters_are_refused(
    classifier: ZeroShotClassifier, labels: list[str], template: str
) -> None:
    with pytest.raises(InvalidTaskInput):
        classifier.classify("text", labels, hypothesis_template=template)


def test_labels_seen_before_give_the_same_answer(classifier: ZeroShotClassifier) -> None:
    # the hypotheses' embeddings are kept between calls; the answer must not change
    text = "The striker scored twice in the cup final."
    first = classifier.classify(text, ["sports", "politics", "cooking"])
    again = classifier.classify(text, ["cooking", "sports", "politics"])
    assert first[0]["label"] == again[0]["label"] == "sports"
    assert {r["label"]: round(r["score"], 6) for r in first} == {
        r["label"]: round(r["score"], 6) for r in again
    }
