"""Extractive summarization: the sentences that best stand for the text, in their original order.

spaCy (en_core_web_sm's parser) splits the text into sentences and MiniLM embeds them and
the whole text. Each sentence scores

    cosine(sentence, text) + INFORMATIVE * min(1, words / FULL_WORDS)

(closeness to what the whole text is about, plus a bonus for carrying content: a
four-word aside like "The weather was nice." is rarely the point), and sentences are taken
greedily by that score minus ``REDUNDANCY`` times their largest cosine with a sentence
already taken (maximal marginal relevance), so a second sentence adds something new. The
chosen ones are returned verbatim, joined by a space. Nothing is invented: every sentence
of the summary is a sentence of the input (only the fallback below cuts one short).
English only.

This replaced TextRank (PageRank over the sentence-similarity graph), which picks the
sentence most like the *other sentences*: in a three-sentence paragraph that is often a
generic one, and it chose a paragraph's least informative sentence. The constants were
chosen on half of ``bench/eval/summarization.jsonl``; figures are in docs/TASKS.md. A
position prior (favouring the lead sentence) was measured too and did not help.
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
INFORMATIVE = 0.4
FULL_WORDS = 15
REDUNDANCY = 0.3
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
        sentences = self.sentences(text)
        if not sentences:
            return ""
        if len(sentences) > MAX_SENTENCES:
            raise InvalidTaskInput(f"the text has more than {MAX_SENTENCES} sentences")
        limit = max_sentences or min(5, max(1, math.ceil(0.3 * len(sentences))))
        order = self._ranked(text, sentences)
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

    def _ranked(self, text: str, sentences: list[str]) -> list[int]:
        """Sentence indices, best first, by relevance to the text and novelty (see above)."""
        if len(sentences) == 1:
            return [0]
        vectors = self._model.embed_array(sentences).astype(np.float64)
        relevance = vectors @ self._document_vector(text, vectors)
        relevance += INFORMATIVE * np.array(
            [min(1.0, len(s.split()) / FULL_WORDS) for s in sentences]
        )
        order: list[int] = []
        closest = np.zeros(len(sentences))  # each sentence's largest cosine with a chosen one
        left = set(range(len(sentences)))
        while left:
            best = max(sorted(left), key=lambda i: relevance[i] - REDUNDANCY * closest[i])
            order.append(best)
            left.remove(best)
            closest = np.maximum(closest, vectors @ vectors[best])
        return order

    def _document_vector(
        self, text: str, sentences: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """The embedding of the whole text; past MiniLM's window, which would see only its
        start, the mean of the sentence vectors instead."""
        vector: npt.NDArray[np.float64]
        if self._model.token_lengths([text], truncate=False)[0] <= self._model.max_tokens:
            vector = self._model.embed_array([text])[0].astype(np.float64)
        else:
            vector = sentences.mean(axis=0)
        unit: npt.NDArray[np.float64] = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return unit

    def sentences(self, text: str) -> list[str]:
        """The text's sentences as spaCy splits them (those with no letter or digit dropped)."""
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
