"""What an upstream actually serves, asked when a mapping is made.

A provider's kind says which tasks its adapter can translate; whether the server behind
it serves them is another matter (a chat server has no image endpoint). For each route to
an OpenAI-compatible upstream, ``RouteProbe`` asks:

1. ``GET {base_url}/models``: the route's model must be listed (when the server lists);
2. for each task of the mapping, the endpoint the adapter would call, with a body that
   names the model and no input (``{"model": ...}``, at most one token): a 404, 405 or 501
   means the server does not serve it, and the mapping is refused with a 400. Any other
   answer (a 400 or 422 for the missing input, above all) means the endpoint is there.

A route to the embedded provider (kind ``local``) is asked of this install: which tasks
its models serve with the packages installed (``gatewayz.local.installed``); a task no
embedded model serves here is refused with a 400.

When a question cannot be answered (the upstream is down, refuses the gateway's key, or
is another kind), the mapping is made and the answer says so plainly: ``gatewayz hf
check`` calls every mapped model before it goes live, and is where such a mapping fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiohttp
import orjson

from gatewayz.config import ModelConfig, ProviderConfig
from gatewayz.errors import TaskMismatch

PROBE_TIMEOUT_S = 5.0
# The OpenAI endpoint each task is served through by the openai kind's adapter
# (``upstreams/openai.py`` and ``openai_tasks``); other tasks are asked of a chat model.
ENDPOINTS = {
    "text-generation": "/completions",
    "feature-extraction": "/embeddings",
    "sentence-similarity": "/embeddings",
    "text-to-image": "/images/generations",
}
CHAT_ENDPOINT = "/chat/completions"
_NOT_SERVED = frozenset({404, 405, 501})
_SHOWN_MODELS = 10
_MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a model list of tens of thousands of ids
LATER = "`gatewayz hf check` is where it would fail"


def endpoint_of(task: str) -> str:
    return ENDPOINTS.get(task, CHAT_ENDPOINT)


def _listed(body: Any) -> list[str] | None:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return None
    return [str(d["id"]) for d in data if isinstance(d, dict) and "id" in d]


class RouteProbe:
    """Asks each openai-kind route's upstream whether it serves the mapping's tasks."""

    def __init__(self, providers: Iterable[ProviderConfig], timeout_s: float = PROBE_TIMEOUT_S):
        self._providers = {p.name: p for p in providers}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def check(self, model: ModelConfig) -> list[str]:
        """Raise ``TaskMismatch`` if an upstream shows it cannot serve ``model``; return a
        note for each question that could not be answered."""
        notes: list[str] = []
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            for index, route in enumerate(model.routes):
                provider = self._providers.get(route.provider)
                if provider is None:
                    continue
                if provider.kind == "local":
                    self._check_local(model, index, route.model)
                    continue
                if provider.kind != "openai" or provider.base_url is None:
                    notes.append(
                        f"routes[{index}]: what a {provider.kind!r} upstream serves is not "
                        f"checked when mapping; {LATER}"
                    )
                    continue
                notes += await self._check_route(session, model, index, provider, route.model)
        return notes

    @staticmethod
    def _check_local(model: ModelConfig, index: int, local_model: str) -> None:
        """The embedded provider is asked which tasks this install's models serve."""
        from gatewayz.local.installed import unserved

        for task in (model.task, *model.tasks):
            why = unserved(task, local_model)
            if why is not None:
                raise TaskMismatch(
                    f"task {task!r} does not fit model {model.id!r}: routes[{index}] goes to "
                    f"the embedded provider, and {why}"
                )

    async def _check_route(
        self,
        session: aiohttp.ClientSession,
        model: ModelConfig,
        index: int,
        provider: ProviderConfig,
        upstream_model: str,
    ) -> list[str]:
        assert provider.base_url is not None
        base = provider.base_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if provider.api_key:
            headers["Authorization"] = f"Bearer {provider.api_key}"
        where = f"routes[{index}]: upstream {provider.name!r}"
        status, body = await self._ask(session, "GET", f"{base}/models", headers, None)
        if status == 0:
            return [
                f"{where} could not be reached ({body}): what it serves was not checked; {LATER}"
            ]
        notes: list[str] = []
        listed = _listed(body) if status == 200 else None
        if listed is None:
            notes.append(
                f"{where} does not list its models (GET /models: HTTP {status}): "
                f"model {upstream_model!r} was not checked; {LATER}"
            )
        elif upstream_model not in listed:
            shown = ", ".join(listed[:_SHOWN_MODELS]) + (
                ", ..." if len(listed) > _SHOWN_MODELS else ""
            )
            raise TaskMismatch(
                f"{where} does not serve model {upstream_model!r}: its /models lists "
                f"{shown or 'no models'}"
            )
        for path in sorted({endpoint_of(t) for t in (model.task, *model.tasks)}):
            tasks = [t for t in (model.task, *model.tasks) if endpoint_of(t) == path]
            payload = {"model": upstream_model, "max_tokens": 1}
            status, body = await self._ask(session, "POST", base + path, headers, payload)
            if status in _NOT_SERVED:
                raise TaskMismatch(
                    f"task {tasks[0]!r} does not fit model {model.id!r}: {where} answers "
                    f"HTTP {status} to POST {path}, so it does not serve {', '.join(tasks)}"
                )
            if status == 0 or status in (401, 403) or status >= 500:
                notes.append(
                    f"{where} could not be asked about POST {path} (HTTP {status or body}): "
                    f"{', '.join(tasks)} not checked; {LATER}"
                )
        return notes

    async def _ask(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        headers: dict[str, str],
        payload: dict[str, Any] | None,
    ) -> tuple[int, Any]:
        """(status, JSON body or None), or (0, why) when no answer came."""
        try:
            # No redirects: the gateway's upstream key goes to the configured URL only.
            async with session.request(
                method, url, headers=headers, json=payload, allow_redirects=False
            ) as resp:
                status, raw = resp.status, await resp.content.read(_MAX_ANSWER_BYTES)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return 0, type(exc).__name__
        try:
            return status, orjson.loads(raw)
        except orjson.JSONDecodeError:  # not JSON, or longer than is read
            return status, None
