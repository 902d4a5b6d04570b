"""English sentiment (Hugging Face's ``text-classification``) with VADER.

VADER is a lexicon-and-rules scorer: for a text it gives the proportions of positive,
negative and neutral wording (``pos``, ``neg``, ``neu``) and a ``compound`` polarity in
[-1, 1]. Its authors' rule is: positive when compound >= 0.05, negative when <= -0.05,
neutral otherwise. We turn that into three scores summing to 1:

1. Polar mass ``m`` from ``|compound|``, piecewise linear: 0 at 0, 0.5 at the rule's
   threshold 0.05, 1 at 1. ``NEUTRAL = 1 - m``.
2. ``m`` is split between POSITIVE and NEGATIVE in the ratio of VADER's ``pos`` and ``neg``
   proportions, the larger share going to the side ``compound`` points to.

So a text with one-sided wording gets the label VADER's own rule gives ("I love this":
POSITIVE 0.81, NEUTRAL 0.19, NEGATIVE 0.0), and a mixed text keeps both polarities ("I
love the food but the service was terrible.": NEGATIVE 0.41, NEUTRAL 0.33, POSITIVE 0.26);
a weakly mixed text may come out NEUTRAL. The scores are a documented transformation of
VADER's numbers, not calibrated probabilities.

**Wording VADER has no entry for.** VADER only sees words in its lexicon, so a complaint
that states facts ("The shoes fell apart after a month.", "My order never arrived and
nobody answers the phone.") scores compound 0, NEUTRAL. When MiniLM is given, the text is
also embedded and compared with two mirrored sets of plainly positive and negative
sentences (``POSITIVE`` / ``NEGATIVE`` below); the difference ``d`` of the mean cosines is
evidence of polarity.
Only its part beyond ``MARGIN`` counts (plain statements such as "The table is brown."
fall within it and stay NEUTRAL), and it moves the compound by
``tanh(SCALE * (|d| - MARGIN))`` towards its sign before the mapping above. On the
hand-labelled set in ``bench/eval/sentiment.jsonl`` this took accuracy from 71% to 83%
(docs/TASKS.md); the constants were chosen on half of it.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from gatewayz.errors import InvalidTaskInput
from gatewayz.local._lazy import Lazy, missing_package
from gatewayz.local.minilm import MiniLM

LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL")
THRESHOLD = 0.05  # VADER's own positive/negative cut-off on compound
POSITIVE = (
    "This is great, I love it.",
    "Excellent, highly recommended.",
    "A wonderful, delightful experience.",
    "It works perfectly and I am very happy with it.",
)
NEGATIVE = (
    "This is terrible, I hate it.",
    "Awful, not recommended.",
    "A horrible, disappointing experience.",
    "It does not work and I am very unhappy with it.",
)
MARGIN = 0.05
SCALE = 10.0


class LabelScore(TypedDict):
    label: str
    score: float


class VaderSentiment:
    """POSITIVE / NEGATIVE / NEUTRAL scores for English text. Loads the lexicon on first use.
    With ``model``, MiniLM's reading of the text adds evidence (see the module docstring)."""

    def __init__(self, model: MiniLM | None = None) -> None:
        self._analyzer: Lazy[Any] = Lazy(_load)
        self._model = model
        self._prototypes: Lazy[npt.NDArray[np.float32]] | None = (
            Lazy(lambda: model.embed_array([*POSITIVE, *NEGATIVE])) if model else None
        )

    @property
    def loaded(self) -> bool:
        return self._analyzer.loaded

    def load(self) -> None:
        self._analyzer.get()

    def classify(self, text: str, top_k: int | None = None) -> list[LabelScore]:
        """``[{"label", "score"}]`` highest first; all three labels unless ``top_k`` is set."""
        if not isinstance(text, str):
            raise InvalidTaskInput("inputs must be a string")
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise InvalidTaskInput("top_k must be a positive integer")
        polarity = self._analyzer.get().polarity_scores(text)
        compound = float(polarity["compound"])
        if text.strip():
            compound = max(-1.0, min(1.0, compound + self._embedded_evidence(text)))
        scores = scores_from_vader(float(polarity["pos"]), float(polarity["neg"]), compound)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        return [{"label": label, "score": score} for label, score in ranked[:top_k]]

    def _embedded_evidence(self, text: str) -> float:
        """The shift of VADER's compound that MiniLM's reading of the text asks for."""
        if self._model is None or self._prototypes is None:
            return 0.0
        prototypes = self._prototypes.get()
        cosines = prototypes @ self._model.embed_array([text])[0]
        half = len(POSITIVE)
        difference = float(cosines[:half].mean() - cosines[half:].mean())
        beyond = abs(difference) - MARGIN
        return math.copysign(math.tanh(SCALE * beyond), difference) if beyond > 0 else 0.0


def scores_from_vader(pos: float, neg: float, compound: float) -> dict[str, float]:
    """The mapping described in the module docstring."""
    strength = min(1.0, abs(compound))
    if strength <= THRESHOLD:
        mass = 0.5 * strength / THRESHOLD
    else:
        mass = 0.5 + 0.5 * (strength - THRESHOLD) / (1.0 - THRESHOLD)
    larger, smaller = max(pos, neg), min(pos, neg)
    main = mass * larger / (larger + smaller) if larger + smaller > 0 else mass
    other = mass - main
    positive, negative = (main, other) if compound >= 0 else (other, main)
    return {"POSITIVE": positive, "NEGATIVE": negative, "NEUTRAL": 1.0 - mass}


def _load() -> Any:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        raise missing_package("embedded sentiment", "vaderSentiment") from None
    return SentimentIntensityAnalyzer()
