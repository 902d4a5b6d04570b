"""Zero-shot classification by embedding similarity (MiniLM), not by NLI.

Each candidate label is put in the hypothesis template ("This example is sports.") and
embedded with the text; the cosine of the text with each hypothesis is the evidence. With
the default template, the evidence is the mean cosine over five phrasings of the label
(``ENSEMBLE``): one phrasing alone lets the wording of the template decide close calls
("The striker scored twice in the cup final." with "This example is {}." ranked cooking
above sports, "cup" being kitchenware too). A template sent by the client is used as
given, alone. The hypotheses' embeddings do not depend on the text, so the most recently
used ones are kept (``CACHED_HYPOTHESES``): labels sent again cost one embedding, the text's.

Measured on ``bench/eval/zeroshot.jsonl`` (see docs/TASKS.md): the ensemble is right more
often than any single template on the half used to choose it and as often as the best one
on the other half. Calibrating against a label prior (subtracting each hypothesis' cosine
with neutral texts) made it worse and is not used.

* single-label (``multi_label=False``): softmax of ``SCALE * cosine`` over the labels, so
  the scores sum to 1. ``SCALE = 20`` is the temperature all-MiniLM-L6-v2 was trained with
  (sentence-transformers' MultipleNegativesRankingLoss), so a cosine gap of 0.1 is a factor
  of e^2 ~ 7.4 between two labels.
* multi-label: each label on its own, ``sigmoid(SCALE * (cosine - THRESHOLD))``, in [0, 1]
  and not summing to 1. ``THRESHOLD = 0.12`` is where a label scores 0.5; it was chosen
  from English probes where matching topic hypotheses scored cosines of 0.14-0.36 and
  non-matching ones -0.11-0.13. It is a heuristic, not a calibrated probability.

This is weaker than an NLI model (it sees topic, not entailment: "not about sports" is
close to "sports"), and it is English-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.minilm import MiniLM

DEFAULT_TEMPLATE = "This example is {}."
ENSEMBLE = (
    DEFAULT_TEMPLATE,
    "This text is about {}.",
    "{}",
    "The topic is {}.",
    "This is related to {}.",
)
SCALE = 20.0
THRESHOLD = 0.12
MAX_LABELS = 100
CACHED_HYPOTHESES = 4096  # clients tend to send the same labels again and again


class LabelScore(TypedDict):
    label: str
    score: float


class ZeroShotClassifier:
    """Hugging Face's ``zero-shot-classification`` task over MiniLM embeddings."""

    def __init__(self, model: MiniLM, scale: float = SCALE, threshold: float = THRESHOLD) -> None:
        self._model = model
        self._scale = scale
        self._threshold = threshold
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def classify(
        self,
        text: str,
        candidate_labels: Sequence[str],
        multi_label: bool = False,
        hypothesis_template: str = DEFAULT_TEMPLATE,
    ) -> list[LabelScore]:
        """``[{"label", "score"}]`` for every candidate label, highest score first."""
        templates = _templates(hypothesis_template)
        hypotheses = [h for t in templates for h in _hypotheses(text, candidate_labels, t)]
        text_vector = self._model.embed_array([text])[0]
        per_template = (self._hypothesis_vectors(hypotheses) @ text_vector).astype(np.float64)
        cosines = per_template.reshape(len(templates), len(candidate_labels)).mean(axis=0)
        if multi_label:
            scores = 1.0 / (1.0 + np.exp(-self._scale * (cosines - self._threshold)))
        else:
            logits = self._scale * cosines
            weights = np.exp(logits - logits.max())
            scores = weights / weights.sum()
        ranked = sorted(
            zip(candidate_labels, scores.tolist(), strict=True), key=lambda p: p[1], reverse=True
        )
        return [{"label": label, "score": float(score)} for label, score in ranked]

    def _hypothesis_vectors(self, hypotheses: list[str]) -> npt.NDArray[np.float32]:
        """The hypotheses' embeddings; the most recently used ones are kept, since they do
        not depend on the text."""
        with self._cache_lock:
            known = {h: self._cache[h] for h in hypotheses if h in self._cache}
            for h in known:
                self._cache.move_to_end(h)
        missing = list(dict.fromkeys(h for h in hypotheses if h not in known))
        if missing:
            fresh = dict(zip(missing, self._model.embed_array(missing), strict=True))
            known.update(fresh)
            with self._cache_lock:
                self._cache.update(fresh)
                while len(self._cache) > CACHED_HYPOTHESES:
                    self._cache.popitem(last=False)
        return np.stack([known[h] for h in hypotheses])

    def count_tokens(
        self,
        text: str,
        candidate_labels: Sequence[str],
        hypothesis_template: str = DEFAULT_TEMPLATE,
    ) -> int:
        """Input tokens read (the text plus each hypothesis), for billing."""
        hypotheses = [
            h
            for t in _templates(hypothesis_template)
            for h in _hypotheses(text, candidate_labels, t)
        ]
        return self._model.count_tokens([text, *hypotheses])


def _templates(template: str) -> tuple[str, ...]:
    return ENSEMBLE if template == DEFAULT_TEMPLATE else (template,)


def _hypotheses(text: str, labels: Sequence[str], template: str) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        raise InvalidTaskInput("inputs must be a non-empty string")
    if isinstance(labels, str) or not labels:
        raise InvalidTaskInput("parameters.candidate_labels must be a non-empty list of strings")
    if len(labels) > MAX_LABELS:
        raise InvalidTaskInput(f"at most {MAX_LABELS} candidate_labels, got {len(labels)}")
    if not all(isinstance(label, str) and label.strip() for label in labels):
        raise InvalidTaskInput("every candidate label must be a non-empty string")
    if len(set(labels)) != len(labels):
        raise InvalidTaskInput("candidate_labels must not repeat a label")
    if not isinstance(template, str) or template.count("{}") != 1:
        raise InvalidTaskInput("hypothesis_template must contain '{}' exactly once")
    return [template.replace("{}", label) for label in labels]
