"""Assertions shared by the end-to-end tests: what every error and every response must carry."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx
from starlette.routing import Match

from gatewayz.http.families import family_of_unrouted
from gatewayz.routes import ROUTES

if TYPE_CHECKING:
    from huggingface_hub import InferenceClient


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def inference_id(resp: httpx.Response) -> str:
    """The response's ``Inference-Id``, checked to be a UUID."""
    rid = resp.headers.get("inference-id")
    assert rid, f"no Inference-Id on {resp.status_code} {resp.request.url}"
    assert str(uuid.UUID(rid)) == rid
    return str(rid)


def openai_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """An OpenAI-shaped error with the request id in the body and the header."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    error = resp.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert isinstance(error["code"], str) and error["code"]
    assert error["request_id"] == inference_id(resp)
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def hf_error(resp: httpx.Response, status: int) -> str:
    """A Hugging Face-shaped error: ``{"error": "...", "request_id": ...}``."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body["error"], str) and body["error"]
    assert body["request_id"] == inference_id(resp)
    return str(body["error"])


def loop_not_blocked(http: httpx.Client) -> None:
    """A second on (for the requests in flight to reach what holds them), ``/health`` still
    answers within half a second: the gateway's event loop is not the one waiting."""
    time.sleep(1.0)
    started = time.perf_counter()
    assert http.get("/health").status_code == 200
    assert time.perf_counter() - started < 0.5, "the event loop waited for the lock"


def chat_body(model: str, content: str = "Say hello.", **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 8,
        **extra,
    }


def hub_chat_text(
    client: InferenceClient,
    model: str | None,
    content: str,
    response_format: Any,
    *,
    stream: bool = False,
) -> str:
    """What ``InferenceClient.chat_completion`` answers one user turn with (at most 64
    tokens; a stream's deltas joined). ``model`` None: the client's own."""
    messages = [{"role": "user", "content": content}]
    if stream:
        chunks = client.chat_completion(
            messages, model=model, response_format=response_format, max_tokens=64, stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    answer = client.chat_completion(
        messages, model=model, response_format=response_format, max_tokens=64
    )
    return answer.choices[0].message.content or ""


def route_family(method: str, path: str) -> str:
    """The family of the route the gateway's router picks for ``method path`` (a route
    matching the path but not the method answers its 405): it decides the error shape."""
    scope = {"type": "http", "method": method, "path": path}
    partial = None
    for route in ROUTES:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(route.family)
        if match == Match.PARTIAL and partial is None:
            partial = str(route.family)
    return partial or family_of_unrouted(path)


def error_message(resp: httpx.Response, status: int) -> str:
    """The message of an error in its route family's shape, checked to carry the request id."""
    family = route_family(resp.request.method, resp.url.path)
    if family in ("openai", "openai-responses"):
        return str(openai_error(resp, status)["message"])
    if family == "anthropic":
        assert resp.status_code == status, resp.text
        body = resp.json()
        assert body["type"] == "error" and body["request_id"] == inference_id(resp)
        return str(body["error"]["message"])
    return hf_error(resp, status)
