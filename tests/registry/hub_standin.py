"""A stand-in for huggingface.co's partner Model Mapping API, served over real HTTP.

It implements the documented routes (hub-docs ``inference-providers/register-as-a-provider``):

    GET    /api/partners/{provider}/models[?status=]     public, grouped by task then Hub id
    POST   /api/partners/{provider}/models               {task, hfModel, providerModel, status}
                                                         or a LoRA tag filter; returns {_id}
    PUT    /api/partners/{provider}/models/{id}/status   {status}
    DELETE /api/partners/{provider}/models/{id}

with the Hub's checks: a token with write access to the provider's organization (401 for
no/unknown token, 403 for a token of someone outside the org), the Hub model exists (404),
and its pipeline tag fits the task (422) - ``conversational`` accepts a ``text-generation``
or ``image-text-to-text`` model tagged ``conversational``. A second mapping for the same
task and model is a 409. Tests can queue failures for one mapping (``fail``) and read the
calls made (``calls``).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.servers import free_port

LIST_KEY = "__list__"


@dataclass(frozen=True)
class HubModel:
    pipeline_tag: str
    tags: tuple[str, ...] = ()


HUB_MODELS: dict[str, HubModel] = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": HubModel("text-generation", ("conversational",)),
    "HuggingFaceTB/SmolLM2-360M-Instruct": HubModel("text-generation", ("conversational",)),
    "HuggingFaceTB/SmolLM2-135M": HubModel("text-generation"),
    "meta-llama/Llama-3.1-8B-Instruct": HubModel("text-generation", ("conversational",)),
    "sentence-transformers/all-MiniLM-L6-v2": HubModel("sentence-similarity"),
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": HubModel("text-classification"),
    "black-forest-labs/FLUX.1-dev": HubModel("text-to-image"),
}


def task_fits(task: str, model: HubModel) -> bool:
    if model.pipeline_tag == task:
        return True
    return (
        task == "conversational"
        and model.pipeline_tag in ("text-generation", "image-text-to-text")
        and "conversational" in model.tags
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


@dataclass
class Mapping:
    id: str
    task: str
    key: str
    provider_model: str
    status: str
    tags: tuple[str, ...] = ()
    adapter_type: str | None = None

    def listing(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "_id": self.id,
            "providerId": self.provider_model,
            "status": self.status,
        }
        if self.tags:
            item.update(adapterType=self.adapter_type, tags=list(self.tags))
        return item


@dataclass
class HubState:
    # token -> organizations it may write to
    tokens: dict[str, set[str]] = field(default_factory=dict)
    providers: set[str] = field(default_factory=set)
    mappings: dict[str, dict[str, Mapping]] = field(default_factory=dict)
    failures: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)


class HubStandin:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = HubState()
        self._ids = itertools.count(1)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = Starlette(
            routes=[
                Route("/api/partners/{provider}/models", self._list, methods=["GET"]),
                Route("/api/partners/{provider}/models", self._create, methods=["POST"]),
                Route(
                    "/api/partners/{provider}/models/{mid}/status", self._status, methods=["PUT"]
                ),
                Route("/api/partners/{provider}/models/{mid}", self._delete, methods=["DELETE"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the Hub stand-in did not start")
            threading.Event().wait(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    # --- test controls ---------------------------------------------------------------
    def reset(self, provider: str, token: str) -> None:
        """An empty Hub where ``token`` may write to ``provider``'s organization."""
        with self.lock:
            self.state = HubState(tokens={token: {provider}}, providers={provider})
            self.state.mappings[provider] = {}

    def add_token(self, token: str, orgs: set[str]) -> None:
        with self.lock:
            self.state.tokens[token] = orgs

    def fail(self, key: str, status: int, times: int = 1, **headers: str) -> None:
        """The next ``times`` requests touching mapping ``key`` (a Hub id, a tag-filter key,
        or ``LIST_KEY``) answer ``status`` with ``headers``."""
        with self.lock:
            self.state.failures.setdefault(key, []).extend([(status, headers)] * times)

    def seed(self, provider: str, task: str, hub_id: str, provider_model: str, status: str) -> str:
        """A mapping that already exists on the Hub (made by hand, or by an earlier sync)."""
        with self.lock:
            mid = self._new_id()
            self.state.mappings[provider][mid] = Mapping(mid, task, hub_id, provider_model, status)
            return mid

    def grouped(self, provider: str) -> dict[str, dict[str, dict[str, Any]]]:
        with self.lock:
            out: dict[str, dict[str, dict[str, Any]]] = {}
            for m in self.state.mappings.get(provider, {}).values():
                item = m.listing()
                del item["_id"]
                out.setdefault(m.task, {})[m.key] = item
            return out

    def calls(self, method: str | None = None) -> list[tuple[str, str, int]]:
        with self.lock:
            return [c for c in self.state.calls if method is None or c[0] == method]

    # --- the API -----------------------------------------------------------------------
    def _new_id(self) -> str:
        return f"{next(self._ids):024x}"

    def _injected(self, key: str) -> Response | None:
        queue = self.state.failures.get(key)
        if not queue:
            return None
        status, headers = queue.pop(0)
        return _error(status, f"injected failure {status}", headers)

    def _auth(self, request: Request, provider: str) -> Response | None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        orgs = self.state.tokens.get(token)
        if orgs is None:
            return _error(401, "Invalid credentials in Authorization header")
        if provider not in orgs:
            return _error(403, f"You need write access to the {provider} organization")
        return None

    def _record(self, request: Request, response: Response) -> Response:
        self.state.calls.append((request.method, request.url.path, response.status_code))
        return response

    async def _list(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        with self.lock:
            if provider not in self.state.providers:
                return self._record(request, _error(404, f"unknown provider {provider}"))
            injected = self._injected(LIST_KEY)
            if injected is not None:
                return self._record(request, injected)
            wanted = request.query_params.get("status")
            out: dict[str, dict[str, Any]] = {}
            for m in self.state.mappings[provider].values():
                if wanted is None or m.status == wanted:
                    out.setdefault(m.task, {})[m.key] = m.listing()
            return self._record(request, JSONResponse(out))

    async def _create(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        body = await request.json()
        with self.lock:
            return self._record(request, self._create_locked(request, provider, body))

    def _create_locked(self, request: Request, provider: str, body: Any) -> Response:
        denied = self._auth(request, provider)
        if denied is not None:
            return denied
        if not isinstance(body, dict) or not isinstance(body.get("task"), str):
            return _error(400, "task is required")
        task, status = body["task"], body.get("status", "staging")
        if status not in ("staging", "live"):
            return _error(400, "status must be staging or live")
        if not isinstance(body.get("providerModel"), str):
            return _error(400, "providerModel is required")
        tags: tuple[str, ...] = ()
        if body.get("type") == "tag-filter":
            if body.get("adapterType") != "lora" or not body.get("tags"):
                return _error(400, "a tag-filter needs tags and adapterType 'lora'")
            tags = tuple(sorted(body["tags"]))
            key = "tag-filter=" + ",".join(tags)
        else:
            key = body.get("hfModel")
            if not isinstance(key, str):
                return _error(400, "hfModel is required")
        injected = self._injected(key)
        if injected is not None:
            return injected
        if not tags:
            hub_model = HUB_MODELS.get(key)
            if hub_model is None:
                return _error(404, f"Repository {key} not found")
            if not task_fits(task, hub_model):
                return _error(
                    422,
                    f"{key} has pipeline_tag {hub_model.pipeline_tag!r}, "
                    f"which does not match task {task!r}",
                )
        existing = self.state.mappings[provider]
        if any(m.task == task and m.key == key for m in existing.values()):
            return _error(409, f"a mapping for {task} {key} already exists")
        mid = self._new_id()
        adapter = body.get("adapterType") if tags else None
        existing[mid] = Mapping(mid, task, key, body["providerModel"], status, tags, adapter)
        return JSONResponse({"_id": mid})

    async def _status(self, request: Request) -> Response:
        provider, mid = request.path_params["provider"], request.path_params["mid"]
        body = await request.json()
        with self.lock:
            denied = self._auth(request, provider)
            if denied is not None:
                return self._record(request, denied)
            mapping = self.state.mappings.get(provider, {}).get(mid)
            if mapping is None:
                return self._record(request, _error(404, f"no mapping {mid}"))
            injected = self._injected(mapping.key)
            if injected is not None:
                return self._record(request, injected)
            status = body.get("status") if isinstance(body, dict) else None
            if status not in ("staging", "live"):
                return self._record(request, _error(400, "status must be staging or live"))
            mapping.status = status
            return self._record(request, JSONResponse({"_id": mid, "status": status}))

    async def _delete(self, request: Request) -> Response:
        provider, mid = request.path_params["provider"], request.path_params["mid"]
        with self.lock:
            denied = self._auth(request, provider)
            if denied is not None:
                return self._record(request, denied)
            mapping = self.state.mappings.get(provider, {}).get(mid)
            if mapping is None:
                return self._record(request, _error(404, f"no mapping {mid}"))
            injected = self._injected(mapping.key)
            if injected is not None:
                return self._record(request, injected)
            del self.state.mappings[provider][mid]
            return self._record(request, Response(status_code=204))
