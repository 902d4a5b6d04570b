"""Task -> helper for OpenAI-compatible upstreams: the non-chat tasks the kind serves.
Adding one is a helper plus one line here."""

from __future__ import annotations

from gatewayz.upstreams.helpers import TaskHelper, by_task
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

OPENAI_TASKS: dict[str, TaskHelper] = by_task(
    (
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
)
