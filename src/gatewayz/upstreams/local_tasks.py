"""How the embedded provider serves each non-chat task, from models shipped in packages:
MiniLM (ONNX int8) for vectors, similarity, zero-shot and extractive summaries; spaCy for
entities; VADER for sentiment; Apertium (Debian) for the language pairs it has installed.
Tasks with no model that can run here answer 501 with how to configure an upstream."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gatewayz.errors import InvalidTaskInput, NotServedLocally
from gatewayz.local.minilm import MiniLM
from gatewayz.local.ner import EntityRecognizer
from gatewayz.local.sentiment import VaderSentiment
from gatewayz.local.similarity import SentenceSimilarity
from gatewayz.local.spacy_en import SpacyEnglish
from gatewayz.local.summarize import ExtractiveSummarizer
from gatewayz.local.translate import ApertiumTranslator
from gatewayz.local.zeroshot import ZeroShotClassifier
from gatewayz.money import Usage
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.upstreams.local import NO_EMBEDDED_MODEL

Handler = Callable[[TaskRequest], TaskResult]
# A local translation model named like "en-es" translates in that direction by default.
_DIRECTION = re.compile(r"([a-z]{2,3})-([a-z]{2,3})")
# (inputs, parameters) of the small request that loads a task's model.
WARM_UP: dict[str, tuple[Any, dict[str, Any]]] = {
    "sentence-similarity": ({"source_sentence": "warm up", "sentences": ["warming up"]}, {}),
    "zero-shot-classification": ("warm up", {"candidate_labels": ["warm", "cold"]}),
    "summarization": ("Models load on first use. This one loads at start-up.", {}),
}
UPSTREAM_HINT = (
    "configure an upstream: add a provider of kind 'openai' or 'hf' that serves it and "
    "route the model there (see docs/TASKS.md)"
)


class LocalTasks:
    """The embedded task models, built once and shared (MiniLM and spaCy load once)."""

    def __init__(self) -> None:
        minilm = MiniLM()
        spacy = SpacyEnglish()
        self._minilm = minilm
        self._similarity = SentenceSimilarity(minilm)
        self._zeroshot = ZeroShotClassifier(minilm)
        self._summarizer = ExtractiveSummarizer(minilm, spacy)
        self._ner = EntityRecognizer(spacy)
        self._sentiment = VaderSentiment(minilm)
        self._translator = ApertiumTranslator()
        self.handlers: dict[str, Handler] = {
            "feature-extraction": self.feature_extraction,
            "sentence-similarity": self.sentence_similarity,
            "zero-shot-classification": self.zero_shot,
            "summarization": self.summarization,
            "token-classification": self.token_classification,
            "text-classification": self.text_classification,
            "translation": self.translation,
            **dict.fromkeys(NO_EMBEDDED_MODEL, self.unavailable),
        }

    def run(self, model: str, request: TaskRequest) -> TaskResult:
        """Answer ``request`` with the embedded model of its task; ``model`` is the route's
        name for it (``default``, or for translation a fixed direction such as ``en-es``)."""
        if request.task == "translation":
            return self.translation(request, fixed_direction(model))
        return self.handlers[request.task](request)

    def load(self, model: str, task: str) -> None:
        """Load what ``task`` runs on now rather than on first use, by answering a small
        request: that loads exactly what a real one would (also the lazily allocated parts
        of the runtimes). Raises what that request would."""
        if task == "translation":
            pair = fixed_direction(model)
            if not self._translator.directions():
                raise NotServedLocally("no Apertium language pair is installed")
            if pair is not None and not self._translator.supports(*pair):
                raise NotServedLocally(f"Apertium has no {pair[0]} -> {pair[1]} pair installed")
            return
        self.handlers[task](TaskRequest(task, *WARM_UP.get(task, ("warm up", {}))))

    def feature_extraction(self, req: TaskRequest) -> TaskResult:
        texts = [req.inputs] if isinstance(req.inputs, str) else list(req.inputs)
        truncate = bool(req.param("truncate", True))
        vectors = self._minilm.embed(
            texts, normalize=bool(req.param("normalize", True)), truncate=truncate
        )
        tokens = self._minilm.count_tokens(texts, truncate=truncate)
        return TaskResult(output=vectors, usage=Usage(input_tokens=tokens))

    def sentence_similarity(self, req: TaskRequest) -> TaskResult:
        source, sentences = req.inputs["source_sentence"], req.inputs["sentences"]
        return TaskResult(
            output=self._similarity.scores(source, sentences),
            usage=Usage(input_tokens=self._similarity.count_tokens(source, sentences)),
        )

    def zero_shot(self, req: TaskRequest) -> TaskResult:
        labels = req.parameters["candidate_labels"]
        template = req.param("hypothesis_template", "This example is {}.")
        output = self._zeroshot.classify(
            req.inputs, labels, bool(req.param("multi_label")), template
        )
        tokens = self._zeroshot.count_tokens(req.inputs, labels, template)
        return TaskResult(output=output, usage=Usage(input_tokens=tokens))

    def summarization(self, req: TaskRequest) -> TaskResult:
        generate: dict[str, Any] = req.param("generate_parameters", {})
        max_tokens = (
            req.param("max_length") or generate.get("max_new_tokens") or generate.get("max_length")
        )
        if max_tokens is not None and not isinstance(max_tokens, int):
            raise InvalidTaskInput("parameters.max_length: must be an integer")
        summary = self._summarizer.summarize(req.inputs, max_tokens=max_tokens)
        tokens = self._summarizer.count_tokens(req.inputs)
        return TaskResult(output=[{"summary_text": summary}], usage=Usage(input_tokens=tokens))

    def token_classification(self, req: TaskRequest) -> TaskResult:
        output = self._ner.recognize(
            req.inputs, req.param("aggregation_strategy", "simple"), req.param("ignore_labels")
        )
        return TaskResult(output=output)

    def text_classification(self, req: TaskRequest) -> TaskResult:
        return TaskResult(output=[self._sentiment.classify(req.inputs, req.param("top_k"))])

    def translation(self, req: TaskRequest, direction: tuple[str, str] | None = None) -> TaskResult:
        """Languages from the request, or else the model's fixed ``direction``."""
        src, tgt = req.param("src_lang"), req.param("tgt_lang")
        if not src and not tgt and direction is not None:
            src, tgt = direction
        if not src or not tgt:
            raise InvalidTaskInput(
                "parameters: this embedded translator has no fixed direction; give src_lang "
                'and tgt_lang (e.g. "en" and "es")'
            )
        return TaskResult(
            output=[{"translation_text": self._translator.translate(req.inputs, src, tgt)}]
        )

    def unavailable(self, req: TaskRequest) -> TaskResult:
        raise NotServedLocally(
            f"no embedded model can serve {req.task!r} on this install; " + UPSTREAM_HINT
        )


def fixed_direction(model: str) -> tuple[str, str] | None:
    """The (source, target) languages a local translation model's name fixes, if any."""
    match = _DIRECTION.fullmatch(model)
    return (match.group(1), match.group(2)) if match else None
