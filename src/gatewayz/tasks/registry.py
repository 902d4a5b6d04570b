"""Task name -> spec: the one list of the tasks the gateway knows.

Adding a task is one spec module plus one line here, then, per upstream kind that serves
it, one helper and one line in that kind's helper registry, and a section of docs/TASKS.md.
Every other list of task names (the ``Task`` type, each kind's ``tasks``, the embedded
handlers, the tests' lists) is derived from or checked against this one
(tests/tasks/test_task_registry.py)."""

from __future__ import annotations

from gatewayz.errors import NotFound
from gatewayz.tasks.base import TaskSpec
from gatewayz.tasks.classification import (
    TextClassification,
    TokenClassification,
    ZeroShotClassification,
)
from gatewayz.tasks.embeddings import FeatureExtraction, SentenceSimilarity
from gatewayz.tasks.fill_mask import FillMask
from gatewayz.tasks.image import TextToImage
from gatewayz.tasks.question_answering import QuestionAnswering
from gatewayz.tasks.text import Summarization, Translation

TASK_SPECS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        Summarization(),
        Translation(),
        QuestionAnswering(),
        TextClassification(),
        TokenClassification(),
        ZeroShotClassification(),
        FeatureExtraction(),
        SentenceSimilarity(),
        FillMask(),
        TextToImage(),
    )
}
# Served by the chat/completions machinery rather than a TaskSpec.
TEXT_TASKS = ("text-generation", "conversational")
# Older names for two tasks, still accepted: HF now says text-to-image and feature-extraction.
ALIASES = {
    "image-generation": "text-to-image",
    "embedding": "feature-extraction",
    "embeddings": "feature-extraction",
}


def spec_for(task: str) -> TaskSpec:
    spec = TASK_SPECS.get(ALIASES.get(task, task))
    if spec is None:
        known = ", ".join(sorted((*TASK_SPECS, *TEXT_TASKS)))
        raise NotFound(f"unknown task {task!r}; tasks: {known}")
    return spec
