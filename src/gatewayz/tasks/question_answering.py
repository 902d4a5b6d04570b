"""Extractive question answering: the answer is a span of the context."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictInt

from gatewayz.tasks.base import JSON, Parameters, TaskSpec, is_score
from gatewayz.tasks.outputs import Answer
from gatewayz.tasks.text import NonEmptyText


class QuestionAnsweringInputs(BaseModel):
    question: NonEmptyText
    context: NonEmptyText


class QuestionAnsweringParameters(Parameters):
    top_k: StrictInt | None = Field(default=None, ge=1)
    doc_stride: StrictInt | None = None
    max_answer_len: StrictInt | None = Field(default=None, ge=1)
    max_question_len: StrictInt | None = None
    max_seq_len: StrictInt | None = None
    align_to_words: StrictBool | None = None
    handle_impossible_answer: StrictBool | None = None


def is_answer(x: Any) -> bool:
    return (
        isinstance(x, dict)
        and isinstance(x.get("answer"), str)
        and is_score(x.get("score"))
        and isinstance(x.get("start"), int)
        and isinstance(x.get("end"), int)
    )


class QuestionAnswering(TaskSpec):
    name = "question-answering"
    inputs_schema = QuestionAnsweringInputs
    parameters_schema = QuestionAnsweringParameters
    output_schema = Answer | list[Answer]

    def check_output(self, output: JSON) -> JSON:
        answers = output if isinstance(output, list) else [output]
        if not answers or not all(is_answer(a) for a in answers):
            raise self.bad_output("expected {answer, score, start, end}")
        return answers[0] if len(answers) == 1 else answers
