"""Hugging Face task routes: ``/hf/tasks/{task}``, the generic ``/hf/tasks/run``, and the
hf-inference shape the official clients speak (``/models/{org/name}[...]``)."""

from __future__ import annotations

import functools
import operator
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, create_model
from starlette.requests import Request
from starlette.responses import Response

from gatewayz.errors import InvalidTaskInput
from gatewayz.http.api import Api, ByTask
from gatewayz.http.body import read_json_object
from gatewayz.http.families import HF, OPENAI, FamilyRoute
from gatewayz.http.responses import JSONResponse
from gatewayz.routes import hf_text
from gatewayz.routes.common import begin
from gatewayz.routes.openai import CHAT, COMPLETION, serve_openai
from gatewayz.services.context import RequestContext
from gatewayz.tasks.base import TaskResult
from gatewayz.tasks.registry import TASK_SPECS, spec_for
from gatewayz.upstreams.base import JSONDict

if TYPE_CHECKING:
    from gatewayz.app import Gateway

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


def task_response(result: TaskResult) -> Response:
    if result.image is not None:
        return Response(result.image, media_type=result.media_type)
    return JSONResponse(result.output)


async def run(
    request: Request,
    gw: Gateway,
    ctx: RequestContext,
    task: str,
    body: JSONDict,
    model_id: str | None,
) -> Response:
    """Serve ``task`` for ``body``; ``model_id`` (from the URL) overrides the body's."""
    if task == "text-generation":
        return await hf_text.generate(request, gw, ctx, body, model_id)
    if task == "conversational":
        return await hf_text.converse(gw, ctx, body, model_id)
    spec = spec_for(task)
    parsed = spec.parse(body, model_id)
    model = gw.inference.resolve(ctx, parsed.model, spec.name)
    return task_response(await gw.inference.run_task(ctx, model, parsed))


async def by_task(request: Request) -> Response:
    gw, ctx = await begin(request, "hf_task")
    body = await read_json_object(request, gw.settings.max_body_bytes)
    return await run(request, gw, ctx, request.path_params["task"], body, None)


async def generic(request: Request) -> Response:
    gw, ctx = await begin(request, "hf_run")
    body = await read_json_object(request, gw.settings.max_body_bytes)
    task = body.pop("task", None)
    if not isinstance(task, str) or not task:
        raise InvalidTaskInput('task: required, e.g. "summarization"')
    return await run(request, gw, ctx, task, body, None)


async def model_default_task(request: Request) -> Response:
    """``POST /models/{id}``: the task is the model's registered one (a chat model answers
    text-generation here, as TGI does; chat itself is at ``.../v1/chat/completions``)."""
    gw, ctx = await begin(request, "hf_model")
    model_id = request.path_params["model_id"]
    body = await read_json_object(request, gw.settings.max_body_bytes)
    registered = gw.registry.lookup(model_id)[0].task  # the id may end in a routing policy
    return await run(request, gw, ctx, default_task(registered, body), body, model_id)


def default_task(registered: str, body: JSONDict) -> str:
    """The task ``POST /models/{id}`` serves: the model's registered one, except that a chat
    model answers text-generation (as TGI does) and an embedding model answers
    sentence-similarity when sent ``{"source_sentence", "sentences"}``."""
    if registered == "conversational":
        return "text-generation"
    inputs = body.get("inputs")
    if (
        registered == "feature-extraction"
        and isinstance(inputs, dict)
        and ("source_sentence" in inputs)
    ):
        return "sentence-similarity"
    return registered


async def model_pipeline(request: Request) -> Response:
    gw, ctx = await begin(request, "hf_model")
    body = await read_json_object(request, gw.settings.max_body_bytes)
    return await run(
        request, gw, ctx, request.path_params["task"], body, request.path_params["model_id"]
    )


async def model_chat(request: Request) -> Response:
    return await serve_openai(request, "hf_model_chat", "chat", request.path_params["model_id"])


async def model_completions(request: Request) -> Response:
    """``@huggingface/inference`` (v4) sends text-generation for an ``endpointUrl`` here."""
    return await serve_openai(
        request, "hf_model_completions", "completion", request.path_params["model_id"]
    )


ROUTES = [
    FamilyRoute("/hf/tasks/run", generic, family=HF, methods=["POST"], api=RUN),
    FamilyRoute("/hf/tasks/{task}", by_task, family=HF, methods=["POST"], api=ByTask(SPEC_APIS)),
    # OpenAI-compatible routes under a model's URL: the OpenAI family, errors included.
    FamilyRoute(
        "/models/{model_id:path}/v1/chat/completions",
        model_chat,
        family=OPENAI,
        methods=["POST"],
        api=replace(CHAT, summary="Create a chat completion with the model in the URL"),
    ),
    FamilyRoute(
        "/models/{model_id:path}/v1/completions",
        model_completions,
        family=OPENAI,
        methods=["POST"],
        api=replace(COMPLETION, summary="Create a text completion with the model in the URL"),
    ),
    FamilyRoute(
        "/models/{model_id:path}/pipeline/{task}",
        model_pipeline,
        family=HF,
        methods=["POST"],
        api=ByTask(TASK_APIS),
    ),
    FamilyRoute(
        "/models/{model_id:path}",
        model_default_task,
        family=HF,
        methods=["POST"],
        api=MODEL_DEFAULT,
    ),
]
