"""The stand-in's HTTP API, served by uvicorn on 127.0.0.1.

The documented routes (hub-docs ``inference-providers/register-as-a-provider``):

    GET    /api/partners/{provider}/models[?status=]     public, grouped by task then Hub id
    POST   /api/partners/{provider}/models               {task, hfModel, providerModel, status}
                                                         or a LoRA tag filter; returns {_id}
    PUT    /api/partners/{provider}/models/{id}/status   {status}
    DELETE /api/partners/{provider}/models/{id}
    GET    /api/models/{namespace}/{name}                {id, pipeline_tag, tags}; with
                                                         ?expand[]=inferenceProviderMapping

with the Hub's checks: a token with write access to the provider's organization (401 for
no/unknown token, 403 for a token of someone outside the org), the Hub model exists (404),
its pipeline tag fits the task (422, ``hub_mapping.pipeline_fits``), one mapping per task
and model (409).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gatewayz.hub_standin.state import LIST_KEY, HubModel, HubState, Mapping
from gatewayz.services.hub_mapping import pipeline_fits


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HubStandin:
    """The stand-in on ``port`` (a free one if None), its state saved to ``state_file``
    after each change when given (and read from it at start if it exists)."""

    def __init__(self, port: int | None = None, state_file: Path | None = None) -> None:
        self.lock = threading.Lock()
        self.state_file = state_file
        loaded = state_file is not None and state_file.exists()
        self.state = HubState.load(state_file) if loaded and state_file else HubState()
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = Starlette(
            routes=[
                Route("/api/partners/{provider}/models", self._list, methods=["GET"]),
                Route("/api/partners/{provider}/models", self._create, methods=["POST"]),
                Route(
                    "/api/partners/{provider}/models/{mid}/status", self._status, methods=["PUT"]
                ),
                Route("/api/partners/{provider}/models/{mid}", self._delete, methods=["DELETE"]),
                Route("/api/models/{model_id:path}", self._model_info, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    # --- running ---------------------------------------------------------------------
    def start(self) -> HubStandin:
        """Serve in a background thread (tests); returns once it accepts connections."""
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the Hub stand-in did not start")
            threading.Event().wait(0.02)
        return self

    def run(self) -> None:
        """Serve in this thread until interrupted (``gatewayz hf stand-in``)."""
        self._server.run()

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    # --- set-up and test controls ------------------------------------------------------
    def allow(self, token: str, provider: str) -> None:
        """Let ``token`` write to ``provider``'s organization (and know the provider)."""
        with self.lock:
            self.state.tokens.setdefault(token, set()).add(provider)
            self.state.add_provider(provider)

    def add_model(self, hub_id: str, model: HubModel) -> None:
        with self.lock:
            self.state.models[hub_id] = model
            self._save()

    def reset(self, provider: str, token: str) -> None:
        """An empty Hub where ``token`` may write to ``provider``'s organization."""
        with self.lock:
            self.state = HubState(tokens={token: {provider}})
            self.state.add_provider(provider)

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
            mid = self.state.new_id()
            self.state.mappings[provider][mid] = Mapping(mid, task, hub_id, provider_model, status)
            self._save()
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
    def _save(self) -> None:
        if self.state_file is not None:
            self.state.save(self.state_file)

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
        if 200 <= response.status_code < 300 and request.method != "GET":
            self._save()
        return response

    async def _model_info(self, request: Request) -> Response:
        model_id = request.path_params["model_id"]
        with self.lock:
            model = self.state.models.get(model_id)
            if model is None:
                return self._record(request, _error(404, f"Repository {model_id} not found"))
            doc: dict[str, Any] = {
                "id": model_id,
                "pipeline_tag": model.pipeline_tag,
                "tags": list(model.tags),
            }
            if "inferenceProviderMapping" in request.query_params.getlist("expand[]"):
                doc["inferenceProviderMapping"] = {
                    provider: {"status": m.status, "providerId": m.provider_model, "task": m.task}
                    for provider, mappings in sorted(self.state.mappings.items())
                    for m in mappings.values()
                    if m.key == model_id
                }
            return self._record(request, JSONResponse(doc))

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
        try:
            body = await request.json()
        except ValueError:
            body = None
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
            raw_tags = body.get("tags")
            if body.get("adapterType") != "lora" or not isinstance(raw_tags, list) or not raw_tags:
                return _error(400, "a tag-filter needs tags and adapterType 'lora'")
            tags = tuple(sorted(str(t) for t in raw_tags))
            key = "tag-filter=" + ",".join(tags)
        else:
            hf_model = body.get("hfModel")
            if not isinstance(hf_model, str):
                return _error(400, "hfModel is required")
            key = hf_model
        injected = self._injected(key)
        if injected is not None:
            return injected
        if not tags:
            hub_model = self.state.models.get(key)
            if hub_model is None:
                return _error(404, f"Repository {key} not found")
            if not pipeline_fits(task, hub_model.pipeline_tag, hub_model.tags):
                return _error(
                    422,
                    f"{key} has pipeline_tag {hub_model.pipeline_tag!r}, "
                    f"which does not match task {task!r}",
                )
        existing = self.state.mappings.setdefault(provider, {})
        if any(m.task == task and m.key == key for m in existing.values()):
            return _error(409, f"a mapping for {task} {key} already exists")
        mid = self.state.new_id()
        adapter = body.get("adapterType") if tags else None
        existing[mid] = Mapping(mid, task, key, body["providerModel"], status, tags, adapter)
        return JSONResponse({"_id": mid})

    def _mapping(self, request: Request) -> Mapping | Response:
        """The mapping ``{provider}/models/{mid}`` names, once the caller may change it; else
        the error to answer (401/403, 404, or an injected failure)."""
        provider, mid = request.path_params["provider"], request.path_params["mid"]
        denied = self._auth(request, provider)
        if denied is not None:
            return denied
        mapping = self.state.mappings.get(provider, {}).get(mid)
        if mapping is None:
            return _error(404, f"no mapping {mid}")
        injected = self._injected(mapping.key)
        return mapping if injected is None else injected

    async def _status(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        with self.lock:
            return self._record(request, self._status_locked(request, body))

    def _status_locked(self, request: Request, body: Any) -> Response:
        mapping = self._mapping(request)
        if isinstance(mapping, Response):
            return mapping
        status = body.get("status") if isinstance(body, dict) else None
        if status not in ("staging", "live"):
            return _error(400, "status must be staging or live")
        mapping.status = status
        return JSONResponse({"_id": mapping.id, "status": status})

    async def _delete(self, request: Request) -> Response:
        with self.lock:
            mapping = self._mapping(request)
            if isinstance(mapping, Response):
                return self._record(request, mapping)
            del self.state.mappings[request.path_params["provider"]][mapping.id]
            return self._record(request, Response(status_code=204))
