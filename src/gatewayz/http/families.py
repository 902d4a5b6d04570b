"""Route families: the API a route belongs to decides the shape of its errors.

Each route is declared with its family (``FamilyRoute``); when the router matches it, the
family's name goes into the request's scope, so the error boundary, the body-timeout answer
of the server and a stream's error event all answer in that family's shape, before and
after a response has started. A path no route serves answers in the family of the API it
is under (``family_of_unrouted``).

Adding a family is one ``ErrorShape`` plus one line in ``FAMILIES``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.routing import Match, Route

from gatewayz.http.api import Declaration
from gatewayz.http.requestid import FAMILY_KEY, Scope
from gatewayz.schemas.errors import AnthropicError, HFError, OpenAIError

JSONDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What every error answer says, whatever its shape."""

    request_id: str
    message: str
    type: str
    code: str


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """How one family writes an error: as a response body, and as the last event of a
    stream that had already started (its status was sent)."""

    name: str
    body: Callable[[ErrorInfo], JSONDict]
    event: Callable[[ErrorInfo], JSONDict]
    schema: type[BaseModel]  # the body's, for the API document


def _openai_error(e: ErrorInfo) -> JSONDict:
    return {
        "error": {"message": e.message, "type": e.type, "code": e.code, "request_id": e.request_id}
    }


def _hf_error(e: ErrorInfo) -> JSONDict:
    return {"error": e.message, "request_id": e.request_id}


def _tgi_error_event(e: ErrorInfo) -> JSONDict:
    # TGI's stream error event, which the HF clients parse.
    return {"error": e.message, "error_type": e.type, "request_id": e.request_id}


def _responses_error_event(e: ErrorInfo) -> JSONDict:
    # The Responses API's stream ``error`` event (its error bodies are OpenAI's).
    return {
        "type": "error",
        "code": e.code,
        "message": e.message,
        "param": None,
        "request_id": e.request_id,
    }


# The gateway's error code (or, failing that, type) -> Anthropic's error type; the
# ``anthropic`` SDK picks its exception class from the HTTP status and shows the message.
_ANTHROPIC_TYPES = {
    "payload_too_large": "request_too_large",
    "not_found": "not_found_error",
    "upstream_rejected": "invalid_request_error",
    "upstream_timeout": "timeout_error",
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "insufficient_credits": "billing_error",
    "rate_limit_error": "rate_limit_error",
}


def _anthropic_error(e: ErrorInfo) -> JSONDict:
    # Both the error body and the stream's ``error`` event.
    kind = _ANTHROPIC_TYPES.get(e.code) or _ANTHROPIC_TYPES.get(e.type) or "api_error"
    return {
        "type": "error",
        "error": {"type": kind, "message": e.message},
        "request_id": e.request_id,
    }


OPENAI = ErrorShape("openai", _openai_error, _openai_error, OpenAIError)
RESPONSES = ErrorShape("openai-responses", _openai_error, _responses_error_event, OpenAIError)
ANTHROPIC = ErrorShape("anthropic", _anthropic_error, _anthropic_error, AnthropicError)
HF = ErrorShape("hf", _hf_error, _tgi_error_event, HFError)

FAMILIES: dict[str, ErrorShape] = {
    shape.name: shape for shape in (OPENAI, RESPONSES, ANTHROPIC, HF)
}


class FamilyRoute(Route):
    """A route that says which family it belongs to and, unless it is left out of the API
    document (``include_in_schema=False``: an HTML page), what it takes and answers."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        family: ErrorShape,
        methods: Sequence[str],
        api: Declaration | None = None,
        include_in_schema: bool = True,
    ) -> None:
        if FAMILIES.get(family.name) is not family:
            raise ValueError(f"route {path!r}: family {family.name!r} is not in FAMILIES")
        if include_in_schema and api is None:
            raise ValueError(f"route {path!r}: an API route declares its api (http.api.Api)")
        super().__init__(path, endpoint, methods=list(methods), include_in_schema=include_in_schema)
        self.family = family.name
        self.api = api

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match != Match.NONE:  # a wrong method (PARTIAL) answers 405 in this family too
            child_scope[FAMILY_KEY] = self.family
        return match, child_scope


ANTHROPIC_PREFIX = "/v1/messages"


def family_of_unrouted(path: str) -> str:
    """The family of a path no route serves (a 404): Anthropic's under ``/v1/messages``,
    the OpenAI clients' elsewhere under ``/v1`` and under a model's ``/models/{id}/v1/``
    (an id no route takes, e.g. one with a line break), or else the Hugging Face routes."""
    if path == ANTHROPIC_PREFIX or path.startswith(ANTHROPIC_PREFIX + "/"):
        return ANTHROPIC.name
    if path.startswith("/v1/") or (path.startswith("/models/") and "/v1/" in path):
        return OPENAI.name
    return HF.name


def family_of(scope: Scope) -> ErrorShape:
    """The error shape of the request ``scope`` is for."""
    name = scope.get(FAMILY_KEY) or family_of_unrouted(str(scope.get("path", "")))
    return FAMILIES[name]


def error_payload(scope: Scope, info: ErrorInfo) -> JSONDict:
    """The error body of the route family ``scope``'s request belongs to."""
    return family_of(scope).body(info)
