"""Python client for the Gatewayz inference gateway.

    from gatewayz_py_hf import GatewayzClient

    with GatewayzClient() as client:  # GATEWAYZ_API_KEY, GATEWAYZ_BASE_URL
        print(client.text_generation("The future of AI is", model="...").generated_text)

``AsyncGatewayzClient`` has the same methods, to ``await``.
"""

from gatewayz_py_hf import types
from gatewayz_py_hf._async_client import AsyncGatewayzClient, AsyncStream
from gatewayz_py_hf._constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from gatewayz_py_hf._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APIStreamError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GatewayzError,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from gatewayz_py_hf._sync_client import GatewayzClient, Stream
from gatewayz_py_hf._version import __version__
from gatewayz_py_hf.types import *  # noqa: F403
from gatewayz_py_hf.types import __all__ as _types_all

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APIStreamError",
    "APITimeoutError",
    "AsyncGatewayzClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "GatewayzClient",
    "GatewayzError",
    "InsufficientCreditsError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Stream",
    "UnprocessableEntityError",
    "__version__",
    "types",
    *_types_all,
]
