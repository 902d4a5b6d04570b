"""Named-entity recognition (Hugging Face's ``token-classification``) with spaCy en_core_web_sm.

**Labels.** By default the entity groups are spaCy's own OntoNotes labels, unchanged:
PERSON, NORP, FAC, ORG, GPE, LOC, PRODUCT, EVENT, WORK_OF_ART, LAW, LANGUAGE, DATE, TIME,
PERCENT, MONEY, QUANTITY, ORDINAL, CARDINAL. ``scheme="conll"`` maps them to the four
CoNLL-2003 groups most HF NER models use: PERSON->PER, ORG->ORG, GPE/LOC/FAC->LOC,
NORP/PRODUCT/EVENT/WORK_OF_ART/LAW/LANGUAGE->MISC; dates, times and numbers are dropped
there, since CoNLL does not tag them.

**Scores.** The model is greedy and reports no confidence, so the score is built from two
measured numbers: the precision the model's authors measured for that label on their
evaluation set (``ents_per_type`` in the package's meta.json: MONEY 0.92, PERSON 0.86,
ORG 0.79, FAC 0.39, ...) times the model's own softmax probability of the transitions that
produced the span (we replay the greedy parse and read the scores of each decision). That
probability is almost always ~1.0 for this small, over-confident model, so in practice the
score is "how often this kind of entity from this model is right", lowered where the model
hesitated. It is not a calibrated per-entity probability.

**aggregation_strategy.** spaCy decides whole spans, so "simple", "first", "average" and
"max" give the same spans; they differ only in how per-token probabilities make the score
(mean for simple/average, first token for first, max for max). "none" returns one item per
entity token with ``entity`` ("B-ORG", "I-ORG") instead of ``entity_group``, as HF does.
``ignore_labels`` drops entities by label (without a B-/I- prefix).

Offsets are character offsets into the input and ``text[start:end] == word`` always.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.spacy_en import SpacyEnglish

Strategy = Literal["none", "simple", "first", "average", "max"]
Scheme = Literal["ontonotes", "conll"]
STRATEGIES: tuple[str, ...] = ("none", "simple", "first", "average", "max")
MAX_CHARS = 20_000  # ~1 s: the replayed parse costs ~50 us per token

CONLL: dict[str, str] = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "PRODUCT": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
}


@dataclass(frozen=True)
class _Span:
    label: str  # spaCy's label
    tokens: list[tuple[int, int, float]]  # (start char, end char, decision probability)


class EntityRecognizer:
    """Hugging Face's ``token-classification`` task served by spaCy's small English model."""

    def __init__(self, spacy: SpacyEnglish, scheme: Scheme = "ontonotes") -> None:
        if scheme not in ("ontonotes", "conll"):
            raise ValueError(f"unknown label scheme {scheme!r}")
        self._spacy = spacy
        self._scheme = scheme

    def recognize(
        self,
        text: str,
        aggregation_strategy: Strategy = "simple",
        ignore_labels: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Entities in order of appearance, in HF's token-classification shape."""
        if not isinstance(text, str):
            raise InvalidTaskInput("inputs must be a string")
        if len(text) > MAX_CHARS:
            raise InvalidTaskInput(f"inputs is longer than {MAX_CHARS} characters")
        if aggregation_strategy not in STRATEGIES:
            raise InvalidTaskInput(f"aggregation_strategy must be one of {', '.join(STRATEGIES)}")
        ignored = set(ignore_labels or ())
        with self._spacy.lock:
            precision = self._spacy.ner_precision()
            spans = _greedy_spans(self._spacy.nlp, text)
        results: list[dict[str, Any]] = []
        for span in spans:
            label = self._label(span.label)
            if label is None or label in ignored:
                continue
            prior = precision.get(span.label, 1.0)
            if aggregation_strategy == "none":
                for i, (start, end, p) in enumerate(span.tokens):
                    tag = ("B-" if i == 0 else "I-") + label
                    results.append(_item("entity", tag, prior * p, text, start, end))
                continue
            probs = [p for _, _, p in span.tokens]
            if aggregation_strategy == "first":
                confidence = probs[0]
            elif aggregation_strategy == "max":
                confidence = max(probs)
            else:
                confidence = sum(probs) / len(probs)
            start, end = span.tokens[0][0], span.tokens[-1][1]
            results.append(_item("entity_group", label, prior * confidence, text, start, end))
        return results

    def _label(self, spacy_label: str) -> str | None:
        if self._scheme == "ontonotes":
            return spacy_label
        return CONLL.get(spacy_label)


def _item(key: str, label: str, score: float, text: str, start: int, end: int) -> dict[str, Any]:
    return {
        key: label,
        "score": min(1.0, max(0.0, float(score))),
        "word": text[start:end],
        "start": start,
        "end": end,
    }


def _greedy_spans(nlp: Any, text: str) -> list[_Span]:
    """Replay spaCy's greedy NER parse step by step, keeping the softmax probability (over
    the valid moves) of each move it takes. The moves are the same argmax-of-valid ones
    spaCy's own ``ner`` makes, so the spans are exactly ``doc.ents``. The NER model reads
    only lexical features, so the tokenizer's doc is all it needs."""
    ner = nlp.get_pipe("ner")
    doc = nlp.make_doc(text)
    if len(doc) == 0:
        return []
    moves = ner.moves
    names = [moves.get_class_name(i) for i in range(moves.n_moves)]
    state = moves.init_batch([doc])[0]
    step = ner.model.predict([doc])
    decisions: list[tuple[str, float]] = []
    try:
        while not state.is_final():
            scores = np.ascontiguousarray(step.predict([state]), dtype=np.float32)
            valid = np.array([moves.is_valid(state, name) for name in names])
            logits = np.where(valid, scores[0].astype(np.float64), -np.inf)
            best = int(np.argmax(logits))
            probs = np.exp(logits - logits[best])
            decisions.append((names[best], float(1.0 / probs.sum())))
            ner.transition_states([state], scores)
    finally:
        if hasattr(step, "clear_memory"):
            step.clear_memory()
    return _spans(doc, decisions)


def _spans(doc: Any, decisions: list[tuple[str, float]]) -> list[_Span]:
    spans: list[_Span] = []
    current: list[tuple[int, int, float]] = []
    for token, (move, prob) in zip(doc, decisions, strict=False):
        kind, label = move[0], move[2:]
        piece = (token.idx, token.idx + len(token.text), prob)
        if kind == "U":
            spans.append(_Span(label, [piece]))
        elif kind == "B":
            current = [piece]
        elif kind == "I" and current:
            current.append(piece)
        elif kind == "L" and current:
            current.append(piece)
            spans.append(_Span(label, current))
            current = []
    return spans
