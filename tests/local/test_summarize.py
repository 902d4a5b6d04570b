import pytest

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.minilm import MiniLM
from gatewayz.local.spacy_en import SpacyEnglish
from gatewayz.local.summarize import ExtractiveSummarizer

ARTICLE = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower. "
    "It was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair. "
    "The tower received 5,889,000 visitors in 2022. "
    "My neighbour's cat likes to sleep on the warm car bonnet in the morning. "
    "The Eiffel Tower is the most visited monument with an entrance fee in the world. "
    "The tower is 330 metres tall and the tallest structure in Paris."
)


@pytest.fixture(scope="module")
def summarizer() -> ExtractiveSummarizer:
    return ExtractiveSummarizer(MiniLM(), SpacyEnglish())


def _sentences_of(text: str) -> list[str]:
    return [s.strip() + "." for s in text.split(". ") if s.strip()]


def test_summary_is_input_sentences_in_order(summarizer: ExtractiveSummarizer) -> None:
    summary = summarizer.summarize(ARTICLE)
    assert summary
    positions = [ARTICLE.index(s.rstrip(".")) for s in _sentences_of(summary)]
    assert positions == sorted(positions)
    assert "cat" not in summary  # the off-topic sentence is the least central
    assert len(summary) < len(ARTICLE)


def test_max_sentences(summarizer: ExtractiveSummarizer) -> None:
    assert len(_sentences_of(summarizer.summarize(ARTICLE, max_sentences=1))) == 1
    assert len(_sentences_of(summarizer.summarize(ARTICLE, max_sentences=3))) == 3


def test_max_tokens(summarizer: ExtractiveSummarizer) -> None:
    model = MiniLM()
    for budget in (5, 25, 60):
        summary = summarizer.summarize(ARTICLE, max_sentences=7, max_tokens=budget)
        assert summary
        assert model.token_lengths([summary], truncate=False)[0] - 2 <= budget


def test_short_and_empty_texts(summarizer: ExtractiveSummarizer) -> None:
    assert summarizer.summarize("Just one sentence here.") == "Just one sentence here."
    assert summarizer.summarize("   ") == ""


def test_bad_parameters(summarizer: ExtractiveSummarizer) -> None:
    with pytest.raises(InvalidTaskInput):
        summarizer.summarize(ARTICLE, max_sentences=0)
    with pytest.raises(InvalidTaskInput):
        summarizer.summarize(ARTICLE, max_tokens="10")  # type: ignore[arg-type]
