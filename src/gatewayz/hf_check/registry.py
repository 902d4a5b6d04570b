"""Every task's probe, by task name."""

from __future__ import annotations

from gatewayz.hf_check.chat import Conversational, TextGeneration
from gatewayz.hf_check.probes import (
    FeatureExtraction,
    FillMask,
    QuestionAnswering,
    SentenceSimilarity,
    Summarization,
    TaskProbe,
    TextClassification,
    TextToImage,
    TokenClassification,
    Translation,
    ZeroShotClassification,
)


def _registry() -> dict[str, TaskProbe]:
    probes: list[TaskProbe] = [
        Conversational(),
        TextGeneration(),
        Summarization(),
        Translation(),
        QuestionAnswering(),
        TextClassification(),
        ZeroShotClassification(),
        TokenClassification(),
        FeatureExtraction(),
        SentenceSimilarity(),
        FillMask(),
        TextToImage(),
    ]
    return {p.task: p for p in probes}


TASK_PROBES: dict[str, TaskProbe] = _registry()
