import pytest

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.minilm import MiniLM
from gatewayz.local.similarity import SentenceSimilarity


@pytest.fixture(scope="module")
def similarity() -> SentenceSimilarity:
    return SentenceSimilarity(MiniLM())


def test_one_score_per_sentence_in_order(similarity: SentenceSimilarity) -> None:
    scores = similarity.scores(
        "A man is eating food.",
        [
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
            "A man is eating food.",
        ],
    )
    assert len(scores) == 3
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert scores[2] == pytest.approx(1.0, abs=1e-5)
    assert scores[0] > 0.6 > scores[1]


def test_needs_sentences(similarity: SentenceSimilarity) -> None:
    with pytest.raises(InvalidTaskInput):
        similarity.scores("x", [])
    with pytest.raises(InvalidTaskInput):
        similarity.scores("x", "not a list")
