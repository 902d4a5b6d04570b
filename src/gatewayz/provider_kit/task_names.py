"""How each task is named in the two clients, and a call that exercises it.

``CALLS`` are the calls the generated tests make (and tests/provider_kit makes through the
real clients): the Python ``InferenceClient`` method with its keyword arguments, and the
``@huggingface/inference`` method with its ``inputs``/``parameters``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TaskNames:
    task: str
    class_name: str  # "TextClassification": the helper classes' middle part
    js_helper: str | None  # the huggingface.js capability interface; None: a base class
    js_output: str | None  # the output type imported from @huggingface/tasks
    title: str  # the hub-docs task page title


_NAMES = (
    TaskNames("conversational", "Conversational", None, None, "Chat Completion (LLM)"),
    TaskNames(
        "text-generation",
        "TextGeneration",
        "TextGenerationTaskHelper",
        "TextGenerationOutput",
        "Text Generation",
    ),
    TaskNames(
        "summarization",
        "Summarization",
        "SummarizationTaskHelper",
        "SummarizationOutput",
        "Summarization",
    ),
    TaskNames(
        "translation", "Translation", "TranslationTaskHelper", "TranslationOutput", "Translation"
    ),
    TaskNames(
        "question-answering",
        "QuestionAnswering",
        "QuestionAnsweringTaskHelper",
        "QuestionAnsweringOutput",
        "Question Answering",
    ),
    TaskNames(
        "text-classification",
        "TextClassification",
        "TextClassificationTaskHelper",
        "TextClassificationOutput",
        "Text Classification",
    ),
    TaskNames(
        "token-classification",
        "TokenClassification",
        "TokenClassificationTaskHelper",
        "TokenClassificationOutput",
        "Token Classification",
    ),
    TaskNames(
        "feature-extraction",
        "FeatureExtraction",
        "FeatureExtractionTaskHelper",
        "FeatureExtractionOutput",
        "Feature Extraction",
    ),
    TaskNames(
        "sentence-similarity",
        "SentenceSimilarity",
        "SentenceSimilarityTaskHelper",
        "SentenceSimilarityOutput",
        "Sentence Similarity",
    ),
    TaskNames("fill-mask", "FillMask", "FillMaskTaskHelper", "FillMaskOutput", "Fill Mask"),
    TaskNames(
        "zero-shot-classification",
        "ZeroShotClassification",
        "ZeroShotClassificationTaskHelper",
        "ZeroShotClassificationOutput",
        "Zero Shot Classification",
    ),
    TaskNames("text-to-image", "TextToImage", "TextToImageTaskHelper", None, "Text to Image"),
)
TASK_NAMES: dict[str, TaskNames] = {n.task: n for n in _NAMES}


@dataclass(frozen=True, slots=True)
class Call:
    python_method: str
    python_kwargs: dict[str, Any]  # besides model=
    js_method: str
    js_args: dict[str, Any]  # besides model= and provider=


CALLS: dict[str, Call] = {
    "conversational": Call(
        "chat_completion",
        {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8},
        "chatCompletion",
        {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8},
    ),
    "text-generation": Call(
        "text_generation",
        {"prompt": "The capital of France is", "max_new_tokens": 8},
        "textGeneration",
        {"inputs": "The capital of France is", "parameters": {"max_new_tokens": 8}},
    ),
    "summarization": Call(
        "summarization",
        {
            "text": "The tower is 324 metres tall. It was the tallest man-made structure "
            "in the world for 41 years. It is in Paris."
        },
        "summarization",
        {
            "inputs": "The tower is 324 metres tall. It was the tallest man-made structure "
            "in the world for 41 years. It is in Paris."
        },
    ),
    "translation": Call(
        "translation",
        {"text": "Hello, my friend.", "src_lang": "en", "tgt_lang": "es"},
        "translation",
        {"inputs": "Hello, my friend.", "parameters": {"src_lang": "en", "tgt_lang": "es"}},
    ),
    "question-answering": Call(
        "question_answering",
        {"question": "Where do I live?", "context": "My name is Clara and I live in Berkeley."},
        "questionAnswering",
        {
            "inputs": {
                "question": "Where do I live?",
                "context": "My name is Clara and I live in Berkeley.",
            }
        },
    ),
    "text-classification": Call(
        "text_classification",
        {"text": "I love this movie!"},
        "textClassification",
        {"inputs": "I love this movie!"},
    ),
    "token-classification": Call(
        "token_classification",
        {"text": "My name is Sarah and I live in London."},
        "tokenClassification",
        {"inputs": "My name is Sarah and I live in London."},
    ),
    "feature-extraction": Call(
        "feature_extraction",
        {"text": "Today is a sunny day."},
        "featureExtraction",
        {"inputs": "Today is a sunny day."},
    ),
    "sentence-similarity": Call(
        "sentence_similarity",
        {"sentence": "That is a happy person.", "other_sentences": ["That is a happy dog."]},
        "sentenceSimilarity",
        {
            "inputs": {
                "source_sentence": "That is a happy person.",
                "sentences": ["That is a happy dog."],
            }
        },
    ),
    "fill-mask": Call(
        "fill_mask",
        {"text": "The goal of life is [MASK]."},
        "fillMask",
        {"inputs": "The goal of life is [MASK]."},
    ),
    "zero-shot-classification": Call(
        "zero_shot_classification",
        {"text": "I want to buy a new phone.", "candidate_labels": ["shopping", "sports"]},
        "zeroShotClassification",
        {
            "inputs": "I want to buy a new phone.",
            "parameters": {"candidate_labels": ["shopping", "sports"]},
        },
    ),
    "text-to-image": Call(
        "text_to_image",
        {"prompt": "An astronaut riding a horse", "width": 64, "height": 64},
        "textToImage",
        {"inputs": "An astronaut riding a horse", "parameters": {"width": 64, "height": 64}},
    ),
}
