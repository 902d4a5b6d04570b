import pytest

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.ner import EntityRecognizer
from gatewayz.local.spacy_en import SpacyEnglish

TEXT = "Apple is buying a U.K. startup for $1 billion, Tim Cook said on Monday in Cupertino."
MESSY = "  Café owner José García met Angela Merkel in\n\nBerlin on 3 May 2021.  "


@pytest.fixture(scope="module")
def spacy() -> SpacyEnglish:
    return SpacyEnglish()


@pytest.fixture(scope="module")
def ner(spacy: SpacyEnglish) -> EntityRecognizer:
    return EntityRecognizer(spacy)


def test_entities_with_spacy_labels(ner: EntityRecognizer) -> None:
    found = {(e["word"], e["entity_group"]) for e in ner.recognize(TEXT)}
    assert {("Apple", "ORG"), ("Tim Cook", "PERSON"), ("$1 billion", "MONEY")} <= found


@pytest.mark.parametrize("text", [TEXT, MESSY])
@pytest.mark.parametrize("strategy", ["none", "simple", "first", "average", "max"])
def test_offsets_index_the_input_and_scores_are_probabilities(
    ner: EntityRecognizer, text: str, strategy: str
) -> None:
    entities = ner.recognize(text, aggregation_strategy=strategy)  # type: ignore[arg-type]
    assert entities
    for e in entities:
        assert text[e["start"] : e["end"]] == e["word"]
        assert 0.0 < e["score"] <= 1.0
        assert ("entity" in e) == (strategy == "none")


def test_spans_are_the_ones_spacy_itself_finds(ner: EntityRecognizer, spacy: SpacyEnglish) -> None:
    for text in (TEXT, MESSY):
        expected = [(e.start_char, e.end_char, e.label_) for e in spacy.nlp(text).ents]
        got = [(e["start"], e["end"], e["entity_group"]) for e in ner.recognize(text)]
        assert got == expected


def test_score_is_the_label_precision_scaled_by_model_confidence(
    ner: EntityRecognizer, spacy: SpacyEnglish
) -> None:
    precision = spacy.ner_precision()
    for e in ner.recognize(TEXT):
        assert e["score"] <= precision[e["entity_group"]] + 1e-9
    scores = {e["entity_group"]: e["score"] for e in ner.recognize(TEXT)}
    assert scores["MONEY"] > scores["ORG"]  # MONEY is measured as more precise than ORG


def test_none_strategy_gives_bio_tokens(ner: EntityRecognizer) -> None:
    tokens = [e for e in ner.recognize(TEXT, "none") if e["entity"].endswith("MONEY")]
    assert [(t["entity"], t["word"]) for t in tokens] == [
        ("B-MONEY", "$"),
        ("I-MONEY", "1"),
        ("I-MONEY", "billion"),
    ]


def test_conll_scheme_and_ignore_labels(spacy: SpacyEnglish) -> None:
    conll = EntityRecognizer(spacy, scheme="conll")
    groups = [(e["word"], e["entity_group"]) for e in conll.recognize(TEXT)]
    assert ("Tim Cook", "PER") in groups and ("Cupertino", "LOC") in groups
    assert all(label in {"PER", "ORG", "LOC", "MISC"} for _, label in groups)
    without_loc = conll.recognize(TEXT, ignore_labels=["LOC"])
    assert all(e["entity_group"] != "LOC" for e in without_loc)


def test_empty_and_bad_inputs(ner: EntityRecognizer) -> None:
    assert ner.recognize("") == []
    assert ner.recognize("nothing to see here") == []
    with pytest.raises(InvalidTaskInput):
        ner.recognize(TEXT, aggregation_strategy="bogus")  # type: ignore[arg-type]
    with pytest.raises(InvalidTaskInput):
        ner.recognize(123)  # type: ignore[arg-type]
