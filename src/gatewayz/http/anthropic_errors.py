"""Anthropic's error shape, for the ``/v1/messages`` route family.

``{"type": "error", "error": {"type", "message"}, "request_id"}``: the ``anthropic`` SDK
picks its exception class from the HTTP status and shows ``error.message``. The error
boundary uses it for every path ``is_anthropic_path`` accepts, before and after a stream
starts (then as an ``error`` event).
"""

from __future__ import annotations

from gatewayz.errors import GatewayError

ANTHROPIC_PREFIX = "/v1/messages"

# The gateway's error type (or, first, code) -> Anthropic's error type.
_TYPES = {
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


def is_anthropic_path(path: str) -> bool:
    return path == ANTHROPIC_PREFIX or path.startswith(ANTHROPIC_PREFIX + "/")


def anthropic_error_payload(rid: str, message: str, type_: str, code: str) -> dict[str, object]:
    kind = _TYPES.get(code) or _TYPES.get(type_) or "api_error"
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": rid}


def anthropic_error_event(exc: GatewayError, request_id: str) -> dict[str, object]:
    """A failure after the stream started, as Anthropic's ``error`` event."""
    return anthropic_error_payload(request_id, exc.message, exc.type, exc.code)
