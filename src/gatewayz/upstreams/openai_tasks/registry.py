"""Task -> helper for OpenAI-compatible upstreams."""

from __future__ import annotations

from gatewayz.upstreams.openai_tasks.base import OpenAITaskHelper
from gatewayz.upstreams.openai_tasks.images import TextToImageTask
from gatewayz.upstreams.openai_tasks.understanding import (
    FillMaskTask,
    QuestionAnsweringTask,
    SummarizationTask,
    TextClassificationTask,
    TokenClassificationTask,
    TranslationTask,
    ZeroShotTask,
)
from gatewayz.upstreams.openai_tasks.vectors import FeatureExtractionTask, SentenceSimilarityTask

OPENAI_TASKS: dict[str, OpenAITaskHelper] = {
    helper.task: helper
    for helper in (
        FeatureExtractionTask(),
        SentenceSimilarityTask(),
        TextToImageTask(),
        SummarizationTask(),
        TranslationTask(),
        QuestionAnsweringTask(),
        TextClassificationTask(),
        TokenClassificationTask(),
        ZeroShotTask(),
        FillMaskTask(),
    )
}
