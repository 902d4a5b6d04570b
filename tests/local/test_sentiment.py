import pytest

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.sentiment import VaderSentiment, scores_from_vader


@pytest.fixture(scope="module")
def vader() -> VaderSentiment:
    return VaderSentiment()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I love this, it is wonderful!", "POSITIVE"),
        ("This is the worst movie I have ever seen.", "NEGATIVE"),
        ("The table is brown.", "NEUTRAL"),
    ],
)
def test_probes(vader: VaderSentiment, text: str, expected: str) -> None:
    result = vader.classify(text)
    assert result[0]["label"] == expected
    assert {r["label"] for r in result} == {"POSITIVE", "NEGATIVE", "NEUTRAL"}
    assert sum(r["score"] for r in result) == pytest.approx(1.0)
    assert all(0.0 <= r["score"] <= 1.0 for r in result)
    assert [r["score"] for r in result] == sorted((r["score"] for r in result), reverse=True)


def test_mixed_text_keeps_both_polarities(vader: VaderSentiment) -> None:
    scores = {
        r["label"]: r["score"]
        for r in vader.classify("I love the food but the service was terrible.")
    }
    assert scores["NEGATIVE"] > scores["POSITIVE"] > 0.1


def test_top_k(vader: VaderSentiment) -> None:
    assert [r["label"] for r in vader.classify("I love this", top_k=1)] == ["POSITIVE"]
    assert len(vader.classify("I love this", top_k=10)) == 3
    with pytest.raises(InvalidTaskInput):
        vader.classify("I love this", top_k=0)


def test_mapping_follows_vaders_threshold() -> None:
    at_threshold = scores_from_vader(pos=0.3, neg=0.0, compound=0.05)
    assert at_threshold["POSITIVE"] == pytest.approx(0.5) == at_threshold["NEUTRAL"]
    assert scores_from_vader(0.0, 0.0, 0.0) == {"POSITIVE": 0.0, "NEGATIVE": 0.0, "NEUTRAL": 1.0}
    strong = scores_from_vader(pos=0.0, neg=0.6, compound=-1.0)
    assert strong["NEGATIVE"] == pytest.approx(1.0)
