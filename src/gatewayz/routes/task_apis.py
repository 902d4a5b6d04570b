"""What the Hugging Face task routes declare for the API document: one operation per
task (its body is the task's ``TaskSpec.request_model()``, made of the schemas the task
validates with; its answer the task's ``output_schema``), and for the routes that take any
task (``/hf/tasks/run``, ``/models/{id}``) the union of them all."""

from __future__ import annotations

import functools
import operator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, create_model

from gatewayz.http.api import Api
from gatewayz.routes import hf_text
from gatewayz.tasks.registry import TASK_SPECS

TAG = hf_text.TAG
IMAGE = "image/png"


def _spec_api(task: str) -> Api[Any]:
    spec = TASK_SPECS[task]
    return Api(
        task,
        TAG,
        body=spec.request_model(),
        answer=spec.output_schema,
        media=None if spec.output_schema is not None else IMAGE,
    )


# Every task's operation, as ``/hf/tasks/{task}`` and ``/models/{id}/pipeline/{task}``
# serve it (the text tasks have their own routes under ``/hf/tasks``).
SPEC_APIS = {task: _spec_api(task) for task in TASK_SPECS}
TASK_APIS: dict[str, Api[Any]] = {
    "text-generation": hf_text.TEXT_GENERATION,
    "conversational": hf_text.CONVERSATIONAL,
    **SPEC_APIS,
}


def _union(members: list[Any]) -> Any:
    return functools.reduce(operator.or_, members)


def _run_request(task: str, body: type[BaseModel]) -> type[BaseModel]:
    """``POST /hf/tasks/run``'s body for ``task``: the task's body with ``"task"`` in it."""
    return create_model(
        f"Run{body.__name__}",
        __base__=body,
        task=(Literal[task], ...),  # type: ignore[arg-type]
    )


_RUN_BODIES = _union([_run_request(task, api.body) for task, api in TASK_APIS.items() if api.body])
_ANY_BODY = _union([api.body for api in TASK_APIS.values()])
_ANY_ANSWER = _union([api.answer for api in TASK_APIS.values() if api.answer is not None])


class RunRequest(RootModel[Annotated[_RUN_BODIES, Field(discriminator="task")]]):  # type: ignore[valid-type]
    """Any task's body, with the task named in ``"task"``."""


class ModelRequest(RootModel[_ANY_BODY]):  # type: ignore[valid-type]
    """The body of the model's registered task (a chat model: text-generation)."""


RUN = Api(
    "Run any task, named in the body",
    TAG,
    body=RunRequest,
    answer=_ANY_ANSWER,
    media=IMAGE,
    stream=True,
)
MODEL_DEFAULT = Api(
    "Run a model's registered task (hf-inference)",
    TAG,
    body=ModelRequest,
    answer=_ANY_ANSWER,
    media=IMAGE,
    stream=True,
    description="A chat model answers text-generation here, as TGI does; an embedding "
    "model answers sentence-similarity when sent `source_sentence` and `sentences`.",
)
