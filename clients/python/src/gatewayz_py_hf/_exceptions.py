"""Every error the client raises::

    GatewayzError                       anything this library raises on purpose
    ├── APIConnectionError              no answer: refused, reset, DNS, TLS ...
    │   └── APITimeoutError             no answer in time
    ├── APIResponseValidationError      an answer this client cannot read
    ├── APIStreamError                  the server reported a failure mid-stream
    └── APIStatusError                  an answer with a 4xx or 5xx status
        ├── BadRequestError             400
        ├── AuthenticationError         401
        ├── InsufficientCreditsError    402
        ├── PermissionDeniedError       403
        ├── NotFoundError               404
        ├── ConflictError               409
        ├── UnprocessableEntityError    422
        ├── RateLimitError              429
        └── InternalServerError         5xx

Each carries the message and the request id (the ``Inference-Id`` the gateway gave the
call, to quote in a bug report); status errors also carry the status, the error type and
code, and the parsed body. None of them holds the request, so none can leak the API key.
"""

from __future__ import annotations

from typing import Any

import httpx


class GatewayzError(Exception):
    """Base class of every error raised by this library."""

    message: str
    request_id: str | None

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request id {self.request_id})"
        return self.message


class APIConnectionError(GatewayzError):
    """The gateway could not be reached, or the connection broke before an answer."""

    def __init__(self, message: str = "connection error", *, request_id: str | None = None):
        super().__init__(message, request_id=request_id)


class APITimeoutError(APIConnectionError):
    """The gateway did not answer within the client's timeout."""

    def __init__(self, message: str = "request timed out") -> None:
        super().__init__(message)


class APIResponseValidationError(GatewayzError):
    """The gateway answered 2xx with a body this client cannot read."""

    def __init__(self, message: str, *, status_code: int, request_id: str | None) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code


class APIStreamError(GatewayzError):
    """A streamed answer ended with an error event (the status, 200, was already sent)."""

    def __init__(
        self, message: str, *, error_type: str | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.error_type = error_type


class APIStatusError(GatewayzError):
    """The gateway answered with a 4xx or 5xx status."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None,
        error_type: str | None = None,
        code: str | None = None,
        body: Any = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.error_type = error_type
        self.code = code
        self.body = body
        self.headers = headers if headers is not None else httpx.Headers()

    def __str__(self) -> str:
        return f"Error code: {self.status_code} - {super().__str__()}"


class BadRequestError(APIStatusError):
    status_code = 400


class AuthenticationError(APIStatusError):
    status_code = 401


class InsufficientCreditsError(APIStatusError):
    status_code = 402


class PermissionDeniedError(APIStatusError):
    status_code = 403


class NotFoundError(APIStatusError):
    status_code = 404


class ConflictError(APIStatusError):
    status_code = 409


class UnprocessableEntityError(APIStatusError):
    status_code = 422


class RateLimitError(APIStatusError):
    status_code = 429


class InternalServerError(APIStatusError):
    """Any 5xx: the gateway or its upstream failed (502 upstream error, 504 timeout ...)."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _error_fields(body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(message, type, code, request id) from either of the gateway's error shapes:
    ``{"error": {"message", "type", "code", "request_id"}}`` on ``/v1`` routes and
    ``{"error": "...", "request_id": "..."}`` on the others."""
    if not isinstance(body, dict):
        return None, None, None, None
    error = body.get("error")
    if isinstance(error, dict):
        return (
            _str(error.get("message")),
            _str(error.get("type")),
            _str(error.get("code")),
            _str(error.get("request_id")) or _str(body.get("request_id")),
        )
    return _str(error), _str(body.get("error_type")), None, _str(body.get("request_id"))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _make_status_error(response: httpx.Response, request_id: str | None) -> APIStatusError:
    """The exception for an error answer whose body has been read."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text or None
    message, error_type, code, body_request_id = _error_fields(body)
    if message is None:
        text = body if isinstance(body, str) else ""
        message = text.strip()[:500] or response.reason_phrase or "error"
    status = response.status_code
    cls = _BY_STATUS.get(status, InternalServerError if status >= 500 else APIStatusError)
    return cls(
        message,
        status_code=status,
        request_id=request_id or body_request_id,
        error_type=error_type,
        code=code,
        body=body,
        headers=response.headers,
    )
