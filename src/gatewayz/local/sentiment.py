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
"""

from __future__ import annotations

from typing import Any, TypedDict

from gatewayz.errors import InvalidTaskInput
from gatewayz.local._lazy import Lazy, missing_package

LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL")
THRESHOLD = 0.05  # VADER's own positive/negative cut-off on compound


class LabelScore(TypedDict):
    label: str
    score: float


class VaderSentiment:
    """POSITIVE / NEGATIVE / NEUTRAL scores for English text. Loads the lexicon on first use."""

    def __init__(self) -> None:
        self._analyzer: Lazy[Any] = Lazy(_load)

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
        scores = scores_from_vader(
            float(polarity["pos"]), float(polarity["neg"]), float(polarity["compound"])
        )
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        return [{"label": label, "score": score} for label, score in ranked[:top_k]]


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
