"""Defaults of the client, in one place (the retry rules follow openai-python's)."""

from __future__ import annotations

import httpx

API_KEY_ENV = "GATEWAYZ_API_KEY"
BASE_URL_ENV = "GATEWAYZ_BASE_URL"
# ``gatewayz serve`` listens here unless told otherwise.
DEFAULT_BASE_URL = "http://127.0.0.1:8000"

DEFAULT_TIMEOUT = httpx.Timeout(timeout=120.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
# A Retry-After longer than this is not waited for; the usual backoff applies instead.
RETRY_AFTER_CAP_S = 60.0
RETRY_STATUSES = frozenset({408, 409, 429})

INFERENCE_ID_HEADER = "inference-id"
