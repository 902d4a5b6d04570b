"""Results of the Hugging Face task routes (``/hf/tasks/{task}``).

Every result keeps the task's Hugging Face answer, typed, in ``output`` (so
``result.output[0].generated_text`` reads exactly as the wire format), the call's
``inference_id``, and shortcuts for the common reads (``result.generated_text``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass(frozen=True, kw_only=True)
class TextGenerationToken:
    id: int
    text: str
    logprob: float | None = None
    special: bool = False


@dataclass(frozen=True, kw_only=True)
class TextGenerationDetails:
    finish_reason: str
    generated_tokens: int
    seed: int | None = None
    tokens: list[TextGenerationToken] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class TextGenerationOutput:
    generated_text: str
    details: TextGenerationDetails | None = None


@dataclass(frozen=True, kw_only=True)
class TextGenerationResult:
    """``[{"generated_text": ...}]``, as TGI and Hugging Face's text-generation answer."""

    output: list[TextGenerationOutput]
    inference_id: str

    @property
    def generated_text(self) -> str:
        return self.output[0].generated_text


@dataclass(frozen=True, kw_only=True)
class TextGenerationStreamOutput:
    """One TGI token event; the last one of a stream carries ``generated_text`` and
    ``details``."""

    index: int
    token: TextGenerationToken
    generated_text: str | None = None
    details: TextGenerationDetails | None = None
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class ConversationalOutput:
    generated_text: str


@dataclass(frozen=True, kw_only=True)
class ConversationalResult:
    output: list[ConversationalOutput]
    inference_id: str

    @property
    def generated_text(self) -> str:
        return self.output[0].generated_text


@dataclass(frozen=True, kw_only=True)
class SummarizationOutput:
    summary_text: str


@dataclass(frozen=True, kw_only=True)
class SummarizationResult:
    output: list[SummarizationOutput]
    inference_id: str

    @property
    def summary_text(self) -> str:
        return self.output[0].summary_text


@dataclass(frozen=True, kw_only=True)
class TranslationOutput:
    translation_text: str


@dataclass(frozen=True, kw_only=True)
class TranslationResult:
    output: list[TranslationOutput]
    inference_id: str

    @property
    def translation_text(self) -> str:
        return self.output[0].translation_text


@dataclass(frozen=True, kw_only=True)
class QuestionAnsweringOutput:
    answer: str
    score: float
    start: int
    end: int


@dataclass(frozen=True, kw_only=True)
class QuestionAnsweringResult:
    """Best answer first. Hugging Face answers one object, or a list when ``top_k`` > 1;
    ``output`` is always a list."""

    output: list[QuestionAnsweringOutput]
    inference_id: str

    @property
    def answer(self) -> str:
        return self.output[0].answer


@dataclass(frozen=True, kw_only=True)
class ClassificationOutput:
    label: str
    score: float


@dataclass(frozen=True, kw_only=True)
class TextClassificationResult:
    """Labels, best first (the wire's outer list, one per input, is unwrapped)."""

    output: list[ClassificationOutput]
    inference_id: str

    @property
    def label(self) -> str:
        return self.output[0].label


@dataclass(frozen=True, kw_only=True)
class ZeroShotClassificationResult:
    """Candidate labels, best first."""

    output: list[ClassificationOutput]
    inference_id: str

    @property
    def label(self) -> str:
        return self.output[0].label


@dataclass(frozen=True, kw_only=True)
class TokenClassificationOutput:
    """One entity; ``start``/``end`` index the input text."""

    word: str
    score: float
    start: int
    end: int
    entity_group: str | None = None
    entity: str | None = None


@dataclass(frozen=True, kw_only=True)
class TokenClassificationResult:
    output: list[TokenClassificationOutput]
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class FeatureExtractionResult:
    """One vector per input text."""

    output: list[list[float]]
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class SentenceSimilarityResult:
    """One similarity score per compared sentence, in order."""

    output: list[float]
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class FillMaskOutput:
    score: float
    sequence: str
    token_str: str
    token: int | None = None


@dataclass(frozen=True, kw_only=True)
class FillMaskResult:
    output: list[FillMaskOutput]
    inference_id: str


@dataclass(frozen=True, kw_only=True)
class TextToImageResult:
    """The image exactly as the gateway sent it (PNG bytes) in ``output``."""

    output: bytes
    media_type: str
    inference_id: str

    @property
    def image(self) -> Image:
        """The image as a ``PIL.Image.Image`` (needs Pillow: ``pip install
        'gatewayz-py-hf[pil]'``)."""
        try:
            from PIL import Image as PILImage
        except ImportError as exc:
            raise ImportError(
                "TextToImageResult.image needs Pillow: pip install 'gatewayz-py-hf[pil]' "
                "(the PNG bytes are in .output)"
            ) from exc
        import io

        return PILImage.open(io.BytesIO(self.output))

    def save(self, path: str | Path) -> Path:
        """Write the image file to ``path``; no Pillow needed."""
        target = Path(path)
        target.write_bytes(self.output)
        return target


@dataclass(frozen=True, kw_only=True)
class TaskRunResult:
    """The answer of the generic ``/hf/tasks/run``: the task's JSON answer untyped in
    ``output``, or the image bytes for text-to-image (see ``media_type``)."""

    task: str
    output: Any
    media_type: str
    inference_id: str
