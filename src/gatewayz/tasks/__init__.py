"""The task names the gateway knows, as Hugging Face spells them."""

from __future__ import annotations

from typing import Literal, get_args

Task = Literal[
    "conversational",
    "text-generation",
    "summarization",
    "translation",
    "question-answering",
    "text-classification",
    "token-classification",
    "feature-extraction",
    "sentence-similarity",
    "fill-mask",
    "zero-shot-classification",
    "text-to-image",
]

ALL_TASKS: tuple[str, ...] = get_args(Task)

# A chat model also answers plain text generation (through /v1/completions or its chat
# template) and a text-generation model can be chatted with; other tasks stand alone.
_ALSO_SERVES: dict[str, tuple[str, ...]] = {
    "conversational": ("text-generation",),
    "text-generation": ("conversational",),
    "feature-extraction": ("sentence-similarity",),
}


def served_tasks(primary: str, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """Every task a model registered for ``primary`` can be called for."""
    return frozenset((primary, *_ALSO_SERVES.get(primary, ()), *extra))
