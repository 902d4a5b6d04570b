"""Extractive summarization: the most central sentences of the text, in their original order.

spaCy (en_core_web_sm's parser) splits the text into sentences; MiniLM embeds them; a
TextRank-style PageRank over the graph of positive cosine similarities ranks them; the best
ones that fit the limits are returned verbatim, joined by a space. Nothing is invented:
every sentence of the summary is a sentence of the input (only the fallback below cuts
one short). English only.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.minilm import MiniLM
from gatewayz.local.spacy_en import SpacyEnglish

MAX_CHARS = 100_000
MAX_SENTENCES = 1_000
DAMPING = 0.85
_NOT_PARSER = ["tagger", "attribute_ruler", "lemmatizer", "ner"]


class ExtractiveSummarizer:
    """Hugging Face's ``summarization`` task, extractively."""

    def __init__(self, model: MiniLM, spacy: SpacyEnglish) -> None:
        self._model = model
        self._spacy = spacy

    def summarize(
        self, text: str, max_sentences: int | None = None, max_tokens: int | None = None
    ) -> str:
        """The summary text.

        ``max_sentences`` caps the number of sentences; by default it is 30% of the
        sentences, at least 1 and at most 5. ``max_tokens`` caps the length in MiniLM word
        pieces (roughly 1.3 per English word; what HF's ``max_length`` means for a
        summarizer): the best-ranked sentences that fit are kept, and if even the shortest
        does not fit, the best sentence is cut at a word boundary to fit.
        """
        _check(text, max_sentences, max_tokens)
        sentences = self._sentences(text)
        if not sentences:
            return ""
        if len(sentences) > MAX_SENTENCES:
            raise InvalidTaskInput(f"the text has more than {MAX_SENTENCES} sentences")
        limit = max_sentences or min(5, max(1, math.ceil(0.3 * len(sentences))))
        ranks = textrank(self._model.embed_array(sentences)) if len(sentences) > 1 else [1.0]
        order = sorted(range(len(sentences)), key=lambda i: (-ranks[i], i))
        lengths = self._word_pieces(sentences) if max_tokens is not None else None
        chosen: list[int] = []
        used = 0
        for i in order:
            if len(chosen) == limit:
                break
            if lengths is not None and max_tokens is not None:
                if used + lengths[i] > max_tokens:
                    continue
                used += lengths[i]
            chosen.append(i)
        if not chosen and max_tokens is not None:
            return self._cut(sentences[order[0]], max_tokens)
        return " ".join(sentences[i] for i in sorted(chosen))

    def count_tokens(self, text: str) -> int:
        """Input tokens read (MiniLM word pieces with [CLS]/[SEP]), for billing."""
        return self._model.count_tokens([text], truncate=False)

    def _sentences(self, text: str) -> list[str]:
        with self._spacy.lock:
            doc = self._spacy.nlp(text, disable=_NOT_PARSER)
            found = [sent.text.strip() for sent in doc.sents]
        return [s for s in found if any(c.isalnum() for c in s)]

    def _word_pieces(self, texts: list[str]) -> list[int]:
        return [n - 2 for n in self._model.token_lengths(texts, truncate=False)]

    def _cut(self, sentence: str, max_tokens: int) -> str:
        words = sentence.split()
        low, high = 0, len(words)  # the longest prefix of words that fits
        while low < high:
            mid = (low + high + 1) // 2
            if self._word_pieces([" ".join(words[:mid])])[0] <= max_tokens:
                low = mid
            else:
                high = mid - 1
        return " ".join(words[:low])


def textrank(vectors: npt.NDArray[np.float32], damping: float = DAMPING) -> list[float]:
    """PageRank over sentences linked by their positive cosine similarity (unit vectors in)."""
    n = len(vectors)
    weights = np.clip(vectors.astype(np.float64) @ vectors.T.astype(np.float64), 0.0, None)
    np.fill_diagonal(weights, 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    transition = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), 1.0 / n)
    rank = np.full(n, 1.0 / n)
    for _ in range(100):
        updated = (1 - damping) / n + damping * (transition.T @ rank)
        if np.abs(updated - rank).sum() < 1e-9:
            rank = updated
            break
        rank = updated
    return [float(r) for r in rank]


def _check(text: str, max_sentences: int | None, max_tokens: int | None) -> None:
    if not isinstance(text, str):
        raise InvalidTaskInput("inputs must be a string")
    if len(text) > MAX_CHARS:
        raise InvalidTaskInput(f"inputs is longer than {MAX_CHARS} characters")
    for name, value in (("max_sentences", max_sentences), ("max_tokens", max_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidTaskInput(f"{name} must be an integer")
        if value is not None and value < 1:
            raise InvalidTaskInput(f"{name} must be at least 1")
