"""Text-understanding tasks served by a chat model with JSON-schema structured output.

The model's JSON is never trusted as is: spans are located again in the input text (so
offsets always index it), scores are clamped to [0, 1], and labels are restricted to the
allowed set.
"""

from __future__ import annotations

import math
import re
from typing import Any

from gatewayz.errors import UpstreamBadResponse
from gatewayz.tasks.base import JSON, TaskRequest
from gatewayz.tasks.fill_mask import MASK_TOKENS
from gatewayz.upstreams.base import JSONDict
from gatewayz.upstreams.openai_tasks.base import StructuredChatTask

SENTIMENT_LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL")
ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")


def _object(**props: JSONDict) -> JSONDict:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def _scored(label: JSONDict) -> JSONDict:
    return {"type": "array", "minItems": 1, "items": _object(label=label, score={"type": "number"})}


MAX_SPAN_WORDS = 8
MAX_SPAN_CHOICES = 400


def candidate_spans(context: str) -> list[str] | None:
    """Every run of up to ``MAX_SPAN_WORDS`` words of a short context, to offer a model as
    the only allowed answers (so the answer is a span by construction); None if too many."""
    words = re.findall(r"\S+", context)
    spans: dict[str, None] = {}
    for i in range(len(words)):
        for j in range(i + 1, min(i + MAX_SPAN_WORDS, len(words)) + 1):
            spans[" ".join(words[i:j]).strip(".,;:!?\"'()")] = None
            if len(spans) > MAX_SPAN_CHOICES:
                return None
    return [s for s in spans if s]


def clamp(score: Any) -> float:
    if isinstance(score, bool) or not isinstance(score, (int, float)) or math.isnan(score):
        return 0.0
    return min(max(float(score), 0.0), 1.0)


def _field(data: Any, key: str, kind: type) -> Any:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, kind):
        raise UpstreamBadResponse(f"the upstream's structured answer lacks {key!r}")
    return value


def find_span(text: str, needle: str, start: int = 0) -> tuple[int, int] | None:
    """Where ``needle`` occurs in ``text`` (exactly, else ignoring case), from ``start``."""
    needle = needle.strip()
    if not needle:
        return None
    at = text.find(needle, start)
    if at < 0:
        at = text.lower().find(needle.lower(), start)
    return (at, at + len(needle)) if at >= 0 else None


def label_scores(items: Any, allowed: tuple[str, ...], exclusive: bool) -> list[JSONDict]:
    """Scores for exactly the ``allowed`` labels: unknown labels dropped, missing ones 0,
    and (``exclusive``) normalised to sum to 1."""
    scores = dict.fromkeys(allowed, 0.0)
    lookup = {a.lower(): a for a in allowed}
    for item in items if isinstance(items, list) else ():
        label = lookup.get(str(item.get("label", "")).lower()) if isinstance(item, dict) else None
        if label is not None:
            scores[label] = max(scores[label], clamp(item.get("score")))
    total = sum(scores.values())
    if exclusive:
        scores = (
            {k: v / total for k, v in scores.items()}
            if total > 0
            else dict.fromkeys(allowed, 1 / len(allowed))
        )
    return sorted(({"label": k, "score": v} for k, v in scores.items()), key=lambda x: -x["score"])


class SummarizationTask(StructuredChatTask):
    task = "summarization"
    instruction = "Summarize the user's text faithfully and concisely, inventing nothing."

    def schema(self, req: TaskRequest) -> JSONDict:
        return _object(
            summary={"type": "string", "minLength": 1, "maxLength": max(len(req.inputs), 64)}
        )

    def convert(self, data: Any, req: TaskRequest) -> JSON:
        return [{"summary_text": _field(data, "summary", str).strip()}]


class TranslationTask(StructuredChatTask):
    task = "translation"
    instruction = "Translate the user's text."

    def prompt(self, req: TaskRequest) -> str:
        src, tgt = req.param("src_lang"), req.param("tgt_lang") or "English"
        source = f" from {src}" if src else ""
        return f"Translate{source} to {tgt}:\n\n{req.inputs}"

    def schema(self, req: TaskRequest) -> JSONDict:
        # A bound keeps a degenerate model from looping until max_tokens.
        longest = 3 * len(req.inputs) + 64
        return _object(translation={"type": "string", "minLength": 1, "maxLength": longest})

    def convert(self, data: Any, req: TaskRequest) -> JSON:
        return [{"translation_text": _field(data, "translation", str).strip()}]


class QuestionAnsweringTask(StructuredChatTask):
    task = "question-answering"
    instruction = (
        "Answer the question with the shortest exact span copied from the context, "
        "and your confidence between 0 and 1."
    )

    def prompt(self, req: TaskRequest) -> str:
        return f"Context:\n{req.inputs['context']}\n\nQuestion: {req.inputs['question']}"

    def schema(self, req: TaskRequest) -> JSONDict:
        spans = candidate_spans(req.inputs["context"])
        answer: JSONDict = {"type": "string", "enum": spans} if spans else {"type": "string"}
        return _object(answer=answer, confidence={"type": "number"})

    def convert(self, data: Any, req: TaskRequest) -> JSON:
        context = req.inputs["context"]
        span = find_span(context, _field(data, "answer", str))
        if span is None:
            raise UpstreamBadResponse("the upstream's answer is not a span of the context")
        start, end = span
        return {
            "answer": context[start:end],
            "score": clamp(data.get("confidence")),
            "start": start,
            "end": end,
        }


class TextClassificationTask(StructuredChatTask):
    """Sentiment classification (POSITIVE / NEGATIVE / NEUTRAL)."""

    task = "text-classification"
    instruction = "Classify the sentiment of the user's text; give each label a probability."

    def schema(self, req: TaskRequest) -> JSONDict:
        return _object(labels=_scored({"type": "string", "enum": list(SENTIMENT_LABELS)}))

    def convert(self, data: Any, req: TaskRequest) -> JSON:
        scores = label_scores(_field(data, "labels", list), SENTIMENT_LABELS, exclusive=True)
        return [scores[: req.param("top_k", len(scores))]]


class TokenClassificationTask(StructuredChatTask):
    task = "token-classification"
    instruction = (
        "List the named entities in the user's text, each copied exactly as it "
        "appears, in order, with type PER, ORG, LOC or MISC and a confidence."
    )

    def schema(self, req: TaskRequest) -> JSONDict:
        entity = _object(
            text={"type": "string"},
            type={"type": "string", "enum": list(ENTITY_TYPES)},
            score={"type": "number"},
        )
        return _object(entities={"type": "array", "items": entity})

    def convert(self, data: Any, req: TaskRequest) -> JSON:
        text: str = req.inputs
        out: list[JSONDict] = []
        cursor = 0
        for item in _field(data, "entities", list):
            if not isinstance(item, dict) or item.get("type") not in ENTITY_TYPES:
                continue
            span = find_span(text, str(item.get("text", "")), cursor) or find_span(
                text, str(item.get("text", ""))
            )
            if span is None:
                continue  # not in the input: dropped rather than invented
            start, end = span
            cursor = end
            out.append(
                {
                    "entity_group": item["type"],
                    "score": clamp(item.get("score")),
                    "word": text[start:end],
                    "start": start,
                    "end": end,
                }
            )
        ignore = set(req.param("ignore_labels", []))
        return sorted((e for e in out if e["entity_group"] not in ignore), key=lambda e: e["start"])


class ZeroShotTask(StructuredChatTask):
    task = "zero-shot-classification"
    instruction = "Score how well each candidate label describes the user's text (0 to 1)."

    def prompt(self, req: TaskRequest) -> str:
        labels = ", ".join(req.parameters["candidate_labels"])
        template = req.param("hypothesis_template", "This example is {}.")
        return f"Text: {req.inputs}\n\nCandidate labels: {labels}\nHypothesis: {template}"

    def schema(self, req: TaskRequest) -> JSONDict:
        return _object(
            scores=_scored({"type": "string", "enum": list(req.parameters["candidate_labels"])})
        )

    def convert(self, data: Any, req: TaskRequest) -> JSON:
        labels = tuple(req.parameters["candidate_labels"])
        return label_scores(
            _field(data, "scores", list), labels, exclusive=not req.param("multi_label", False)
        )


class FillMaskTask(StructuredChatTask):
    task = "fill-mask"
    instruction = (
        "Propose the most likely single words for the mask in the user's text, with probabilities."
    )

    def schema(self, req: TaskRequest) -> JSONDict:
        word: JSONDict = {"type": "string"}
        if req.param("targets"):
            word = {"type": "string", "enum": list(req.parameters["targets"])}
        word.setdefault("maxLength", 40)
        items = _object(token=word, score={"type": "number"})
        top_k = req.param("top_k", 5)
        return _object(
            candidates={"type": "array", "minItems": 1, "maxItems": top_k, "items": items}
        )

    def convert(self, data: Any, req: TaskRequest) -> JSON:
        text: str = req.inputs
        mask = next(m for m in MASK_TOKENS if m in text)
        targets = req.param("targets")
        seen: dict[str, float] = {}
        for item in _field(data, "candidates", list):
            token = str(item.get("token", "")).strip() if isinstance(item, dict) else ""
            if token and " " not in token and (not targets or token in targets):
                seen[token] = max(seen.get(token, 0.0), clamp(item.get("score")))
        if not seen:
            raise UpstreamBadResponse("the upstream proposed no usable filler")
        ranked = sorted(seen.items(), key=lambda kv: -kv[1])[: req.param("top_k", 5)]
        return [
            {"score": s, "token": -1, "token_str": t, "sequence": text.replace(mask, t)}
            for t, s in ranked
        ]
