"""One probe class per task: how to call the task through ``InferenceClient`` and what
shape its answer must have. The shared steps - the call succeeds, the shape, the
``Inference-Id`` header, the latency bound - are ``TaskProbe.run``; chat and text
generation (``chat.py``) add streaming, tools and structured output.

Adding a task is one subclass and one line in ``registry.TASK_PROBES``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from gatewayz.hf_check.outcome import Outcome, ms, reason_of, timed
from gatewayz.hf_check.target import Target

CLIENT = "python"
# Hugging Face's bound for every task but chat and text generation (streamed first token).
ANSWER_BOUND_S = 30.0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _labels(output: Any) -> str | None:
    if not isinstance(output, list) or not output:
        return "expected a non-empty list of {label, score}"
    if not all(_text(o.label) and _number(o.score) for o in output):
        return "every element needs a label (text) and a score (number)"
    return None


class TaskProbe(ABC):
    """The probes of one task, run against one model (``registry.TASK_PROBES``)."""

    task: ClassVar[str]

    @abstractmethod
    def run(self, target: Target) -> list[Outcome]:
        """Every probe's outcome for ``target``."""


class CallProbe(TaskProbe):
    """A task probed by one client call: ``call`` it, check ``shape``, the ``Inference-Id``
    and, on a second call, the latency bound."""

    @abstractmethod
    def call(self, client: Any) -> Any:
        """Call the task's method of ``client`` (an ``InferenceClient``)."""

    @abstractmethod
    def shape(self, output: Any) -> str | None:
        """Why ``output`` lacks the task's shape, or None."""

    def run(self, target: Target) -> list[Outcome]:
        client = target.task_client()
        first = attempt(target, "call", lambda: self.call(client))
        if first.failed is not None:
            return [first.failed, *skipped(("shape", "inference_id", "latency"))]
        outcomes = [
            first.passed("call"),
            verdict("shape", self.shape(first.output)),
            first.inference_id(),
        ]
        # Measured on a second call: the first may have loaded the model (HF probes a
        # provider that is already serving).
        second = attempt(target, "latency", lambda: self.call(client))
        if second.failed is not None:
            return [*outcomes, second.failed]
        return [*outcomes, within("latency", second.seconds, ANSWER_BOUND_S)]


class Attempt:
    """One client call: its output, seconds and ``Inference-Id``, or the failure."""

    def __init__(self, target: Target, probe: str, call: Callable[[], Any]) -> None:
        target.ids.start()
        self.output: Any = None
        self.seconds = 0.0
        self.failed: Outcome | None = None
        try:
            self.output, self.seconds = timed(call)
        # Any error the client raises (HTTP status, unparsable answer, timeout) is the
        # probe's finding: reported as a FAIL with its text, not hidden.
        except Exception as exc:
            self.failed = Outcome(probe, CLIENT, "fail", reason_of(exc))
        self.id = target.ids.last()

    def passed(self, probe: str) -> Outcome:
        return Outcome(probe, CLIENT, "pass", latency_ms=ms(self.seconds))

    def inference_id(self, probe: str = "inference_id") -> Outcome:
        if self.id:
            return Outcome(probe, CLIENT, "pass")
        return Outcome(probe, CLIENT, "fail", "the answer has no Inference-Id header")


def attempt(target: Target, probe: str, call: Callable[[], Any]) -> Attempt:
    return Attempt(target, probe, call)


def verdict(probe: str, why_not: str | None) -> Outcome:
    return Outcome(probe, CLIENT, "pass" if why_not is None else "fail", why_not)


def within(probe: str, seconds: float | None, bound_s: float) -> Outcome:
    if seconds is None:
        return Outcome(probe, CLIENT, "fail", "nothing was received to time")
    if seconds > bound_s:
        return Outcome(
            probe, CLIENT, "fail", f"{seconds:.2f} s, over the {bound_s:g} s bound", ms(seconds)
        )
    return Outcome(probe, CLIENT, "pass", latency_ms=ms(seconds))


def skipped(probes: tuple[str, ...], why: str = "the call failed") -> list[Outcome]:
    return [Outcome(p, CLIENT, "skip", why) for p in probes]


class Summarization(CallProbe):
    task = "summarization"
    TEXT = (
        "The tower is 324 metres tall, about the same height as an 81-storey building, and "
        "the tallest structure in Paris. Its base is square, measuring 125 metres on each "
        "side. During its construction, the Eiffel Tower surpassed the Washington Monument "
        "to become the tallest man-made structure in the world."
    )

    def call(self, client: Any) -> Any:
        return client.summarization(self.TEXT)

    def shape(self, output: Any) -> str | None:
        return None if _text(output.summary_text) else "summary_text is empty"


class Translation(CallProbe):
    task = "translation"

    def call(self, client: Any) -> Any:
        return client.translation("My name is Wolfgang and I live in Berlin.")

    def shape(self, output: Any) -> str | None:
        return None if _text(output.translation_text) else "translation_text is empty"


class QuestionAnswering(CallProbe):
    task = "question-answering"

    def call(self, client: Any) -> Any:
        return client.question_answering(
            question="Where do I live?", context="My name is Sarah and I live in London."
        )

    def shape(self, output: Any) -> str | None:
        answer = output[0] if isinstance(output, list) and output else output
        ok = _text(answer.answer) and _number(answer.score)
        return None if ok else "expected an answer (text) and a score"


class TextClassification(CallProbe):
    task = "text-classification"

    def call(self, client: Any) -> Any:
        return client.text_classification("I like you. I love you.")

    def shape(self, output: Any) -> str | None:
        return _labels(output)


class ZeroShotClassification(CallProbe):
    task = "zero-shot-classification"
    LABELS = ("refund", "legal", "faq")

    def call(self, client: Any) -> Any:
        return client.zero_shot_classification(
            "Hi, I recently bought a device from your company but it is not working as "
            "advertised and I would like to get reimbursed!",
            candidate_labels=list(self.LABELS),
        )

    def shape(self, output: Any) -> str | None:
        why = _labels(output)
        if why is None and {o.label for o in output} != set(self.LABELS):
            why = f"expected one score per candidate label {list(self.LABELS)}"
        return why


class TokenClassification(CallProbe):
    task = "token-classification"

    def call(self, client: Any) -> Any:
        return client.token_classification("My name is Sarah Jessica Parker and I live in London")

    def shape(self, output: Any) -> str | None:
        if not isinstance(output, list) or not output:
            return "expected a non-empty list of entities"
        for o in output:
            if not (_text(o.word) and _number(o.score)) or (o.entity_group or o.entity) is None:
                return "every entity needs a word, a score and an entity_group"
        return None


class FeatureExtraction(CallProbe):
    task = "feature-extraction"

    def call(self, client: Any) -> Any:
        return client.feature_extraction("Today is a sunny day and I will get some ice cream.")

    def shape(self, output: Any) -> str | None:
        size = getattr(output, "size", 0)
        if not size:
            return "expected a non-empty array of floats"
        return None if all(math.isfinite(float(v)) for v in output.flat) else "non-finite values"


class SentenceSimilarity(CallProbe):
    task = "sentence-similarity"
    OTHERS = ("That is a happy dog", "Today is a sunny day")

    def call(self, client: Any) -> Any:
        return client.sentence_similarity(
            "That is a happy person", other_sentences=list(self.OTHERS)
        )

    def shape(self, output: Any) -> str | None:
        if isinstance(output, list) and len(output) == len(self.OTHERS):
            return None if all(_number(v) for v in output) else "every score must be a number"
        return f"expected {len(self.OTHERS)} scores, one per sentence"


class FillMask(CallProbe):
    task = "fill-mask"

    def call(self, client: Any) -> Any:
        return client.fill_mask("The goal of life is [MASK].")

    def shape(self, output: Any) -> str | None:
        if not isinstance(output, list) or not output:
            return "expected a non-empty list of fillers"
        ok = all(_text(o.sequence) and _number(o.score) and _text(o.token_str) for o in output)
        return None if ok else "every filler needs a sequence, a score and a token_str"


class TextToImage(CallProbe):
    task = "text-to-image"

    def call(self, client: Any) -> Any:
        return client.text_to_image("An astronaut riding a horse on the moon.")

    def shape(self, output: Any) -> str | None:
        width, height = getattr(output, "size", (0, 0))
        return None if width > 0 and height > 0 else "expected an image"
