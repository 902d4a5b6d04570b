"""Sentence similarity: cosine of MiniLM sentence embeddings."""

from __future__ import annotations

from collections.abc import Sequence

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.minilm import MiniLM


class SentenceSimilarity:
    """Hugging Face's ``sentence-similarity`` task: how close each of ``sentences`` is to
    ``source_sentence``, as the cosine of their all-MiniLM-L6-v2 embeddings (in [-1, 1];
    unrelated English sentences score near 0, paraphrases above ~0.7)."""

    def __init__(self, model: MiniLM) -> None:
        self._model = model

    def scores(self, source_sentence: str, sentences: Sequence[str]) -> list[float]:
        """One score per sentence, in the order given."""
        if not isinstance(source_sentence, str):
            raise InvalidTaskInput("inputs.source_sentence must be a string")
        if isinstance(sentences, str) or not sentences:
            raise InvalidTaskInput("inputs.sentences must be a non-empty list of strings")
        vectors = self._model.embed_array([source_sentence, *sentences])
        cosines = vectors[1:] @ vectors[0]
        return [min(1.0, max(-1.0, float(c))) for c in cosines]

    def count_tokens(self, source_sentence: str, sentences: Sequence[str]) -> int:
        """Input tokens read, for billing."""
        return self._model.count_tokens([source_sentence, *sentences])
