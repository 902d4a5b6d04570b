"""Hugging Face task routes: ``/hf/tasks/{task}``, the generic ``/hf/tasks/run``, and the
hf-inference shape the official clients speak (``/models/{org/name}[...]``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from gatewayz.errors import InvalidTaskInput
from gatewayz.http.api import ByTask
from gatewayz.http.body import read_json_object
from gatewayz.http.families import HF, OPENAI, FamilyRoute
from gatewayz.http.responses import JSONResponse
from gatewayz.routes import hf_text
from gatewayz.routes.common import begin
from gatewayz.routes.openai import CHAT, COMPLETION, serve_openai
from gatewayz.routes.task_apis import MODEL_DEFAULT, RUN, SPEC_APIS, TASK_APIS
from gatewayz.services.context import RequestContext
from gatewayz.tasks.base import TaskResult
from gatewayz.tasks.registry import spec_for
from gatewayz.upstreams.base import JSONDict

if TYPE_CHECKING:
    from gatewayz.app import Gateway


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
