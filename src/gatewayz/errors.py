"""The one exception hierarchy of the gateway.

Every error a request can meet is a ``GatewayError``; ``http.errors`` turns it into a
response at one boundary, in the shape of the route's family (``http.families``)::

    GatewayError                      500 internal_error
    ├── InvalidRequest                400 invalid_request_error
    │   ├── MalformedJSON             400
    │   ├── ModelRequired             400 (no model named and no default for the task)
    │   ├── TaskNotSupported          400 (model exists but does not serve the task)
    │   ├── TaskMismatch              400 (a registry mapping whose route cannot serve its task)
    │   ├── InvalidTaskInput          422
    │   ├── PayloadTooLarge           413
    │   └── IncompleteBody            408 (the client stopped sending, or was too slow)
    ├── AuthenticationFailed          401
    ├── PermissionDenied              403
    ├── NotFound                      404
    │   └── ModelNotFound             404
    ├── Conflict                      409 (e.g. a registry entry the config file owns)
    ├── NotServedLocally              501 (no embedded model for the task)
    ├── ModelUnavailable              503 (its stored entry is invalid, e.g. a bad price)
    ├── InsufficientCredits           402
    ├── RateLimited                   429 (with Retry-After)
    ├── LimiterUnavailable            503 (rate limits cannot be checked; redis_unavailable: deny)
    ├── DatabaseUnavailable           503 (the database cannot be reached right now)
    ├── RoutesUnavailable             503 (every route's circuit breaker is open; Retry-After)
    ├── LedgerUnavailable             503 (usage records cannot be written, after retries)
    ├── NotReady                      503 (``/ready``: the database does not answer)
    └── UpstreamError                 502
        ├── UpstreamUnavailable       502 (connection refused / reset)
        ├── UpstreamBadResponse       502 (5xx or unparsable answer)
        ├── UpstreamTimeout           504
        └── UpstreamRejected          4xx passed on from the upstream

Messages are written for the caller: they never contain a secret or a stack trace.
"""

from __future__ import annotations


class GatewayError(Exception):
    status: int = 500
    type: str = "internal_error"
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class MalformedJSON(InvalidRequest):
    code = "malformed_json"


class ModelRequired(InvalidRequest):
    code = "model_required"


class TaskNotSupported(InvalidRequest):
    code = "task_not_supported"


class TaskMismatch(InvalidRequest):
    code = "task_mismatch"


class InvalidTaskInput(InvalidRequest):
    status = 422
    code = "invalid_input"


class PayloadTooLarge(InvalidRequest):
    status = 413
    code = "payload_too_large"


class IncompleteBody(InvalidRequest):
    """The body never arrived in full: the client went away, or the server closed the
    connection at its body timeout (and answered the 408 itself)."""

    status = 408
    code = "request_timeout"


class AuthenticationFailed(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class NotFound(GatewayError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(GatewayError):
    status = 409
    type = "conflict_error"
    code = "conflict"


class NotServedLocally(GatewayError):
    status = 501
    type = "not_implemented_error"
    code = "no_local_model"


class ModelUnavailable(GatewayError):
    status = 503
    type = "unavailable_error"
    code = "model_unavailable"


class InsufficientCredits(GatewayError):
    status = 402
    type = "insufficient_credits"
    code = "insufficient_credits"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after_s: float = 1.0
    ) -> None:
        super().__init__(message, code=code)
        # Whole seconds, rounded up: what the ``Retry-After`` header says.
        self.retry_after = str(max(1, -int(-retry_after_s // 1)))


class LimiterUnavailable(GatewayError):
    status = 503
    type = "service_unavailable"
    code = "rate_limits_unavailable"


class DatabaseUnavailable(GatewayError):
    status = 503
    type = "service_unavailable"
    code = "database_unavailable"


class RoutesUnavailable(GatewayError):
    """Every route of the model is open (its upstream failed): refused without a call."""

    status = 503
    type = "service_unavailable"
    code = "routes_unavailable"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after = str(max(1, -int(-retry_after_s // 1)))


class LedgerUnavailable(GatewayError):
    status = 503
    type = "service_unavailable"
    code = "ledger_unavailable"


class NotReady(GatewayError):
    status = 503
    type = "service_unavailable"
    code = "not_ready"


class UpstreamError(GatewayError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"
    # The HTTP status the upstream answered and its raw ``Retry-After`` (None: it did not
    # answer; ``retries.NO_ANSWER``: the connection dropped mid-call, which is retried);
    # what the retry rules decide on.
    upstream_status: int | None = None
    upstream_retry_after: str | None = None
    # No connection could be made within the provider's connect timeout.
    connect_timed_out: bool = False


class UpstreamUnavailable(UpstreamError):
    code = "upstream_unavailable"


class UpstreamBadResponse(UpstreamError):
    code = "upstream_bad_response"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class UpstreamRejected(UpstreamError):
    """The upstream refused the request itself (a 4xx): the caller's fault, passed on."""

    code = "upstream_rejected"

    def __init__(self, message: str, *, status: int, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        # The upstream's Retry-After, passed on to the caller with a 429.
        self.retry_after = retry_after
