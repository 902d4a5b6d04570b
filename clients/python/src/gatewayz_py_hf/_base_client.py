"""What the sync and async clients share: configuration, request bodies, the retry
decision, and reading answers. Only the I/O differs between the two clients, and the sync
one is generated from the async one (``scripts/unasync.py``)."""

from __future__ import annotations

import base64
import json
import os
import struct
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import httpx

from gatewayz_py_hf._constants import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    INFERENCE_ID_HEADER,
)
from gatewayz_py_hf._convert import ConversionError, convert
from gatewayz_py_hf._exceptions import (
    APIResponseValidationError,
    APIStatusError,
    APIStreamError,
    GatewayzError,
    _make_status_error,
)
from gatewayz_py_hf._retries import _calculate_retry_timeout, _should_retry
from gatewayz_py_hf._version import __version__

T = TypeVar("T")
Timeout = float | httpx.Timeout | None
JSONBody = dict[str, Any]


def _resolve_base_url(base_url: str | httpx.URL | None) -> httpx.URL:
    url = str(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
    # The client calls both /v1/... and /hf/... routes: the server root is wanted, but an
    # OpenAI-style ".../v1" base URL is understood too.
    url = url.removesuffix("/v1")
    return httpx.URL(url + "/")


class BaseClient:
    """Settings common to both clients. The API key is kept private and out of ``repr``."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | httpx.URL | None,
        timeout: Timeout,
        max_retries: int,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if not key:
            raise GatewayzError(f"no API key: pass api_key=... or set {API_KEY_ENV}")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self._api_key = key
        self.base_url = _resolve_base_url(base_url)
        self.timeout: Timeout = timeout
        self.max_retries = max_retries

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={str(self.base_url)!r}, "
            f"max_retries={self.max_retries})"
        )

    @property
    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key}",
            "User-Agent": f"gatewayz-py-hf/{__version__}",
        }

    def _retry_delay(self, retries_done: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before asking again, or None to give up. ``response`` is None
        when the call got no answer (connection failure or timeout)."""
        if retries_done >= self.max_retries:
            return None
        if response is not None and not _should_retry(response.status_code, response.headers):
            return None
        return _calculate_retry_timeout(retries_done, response.headers if response else None)


def inference_id(response: httpx.Response) -> str:
    return str(response.headers.get(INFERENCE_ID_HEADER, ""))


def status_error(response: httpx.Response) -> APIStatusError:
    """The error for a 4xx/5xx answer whose body has been read."""
    return _make_status_error(response, inference_id(response) or None)


def read_json(response: httpx.Response, *, exact_numbers: bool = False) -> Any:
    """The JSON body of a 2xx answer. ``exact_numbers`` reads JSON decimals as ``Decimal``
    (for prices), never through a float."""
    try:
        if exact_numbers:
            return json.loads(response.content, parse_float=Decimal)
        return response.json()
    except ValueError:
        raise APIResponseValidationError(
            f"the answer is not JSON (content-type {response.headers.get('content-type')!r})",
            status_code=response.status_code,
            request_id=inference_id(response) or None,
        ) from None


def build(cls: type[T], data: Any, response: httpx.Response) -> T:
    """``data`` as a ``cls`` carrying the response's ``Inference-Id``."""
    try:
        return convert(cls, data, inference_id(response))
    except ConversionError as exc:
        raise APIResponseValidationError(
            f"unexpected answer shape: {exc}",
            status_code=response.status_code,
            request_id=inference_id(response) or None,
        ) from None


def clean(values: Mapping[str, Any]) -> JSONBody:
    """``values`` without the unset (None) ones; Decimals as exact strings."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items() if v is not None}


def task_body(
    inputs: Any,
    model: str | None,
    parameters: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    **fields: Any,
) -> JSONBody:
    """A Hugging Face task body: ``{"inputs", "parameters", "model"}``; ``extra`` holds
    parameters this client has no argument for (they are passed on as given)."""
    params = {**clean(parameters), **(extra or {})}
    body: JSONBody = {"inputs": inputs, **clean(fields)}
    if params:
        body["parameters"] = params
    if model is not None:
        body["model"] = model
    return body


class SSEDecoder:
    """Server-sent events, line by line: ``feed`` returns an event's data when a blank
    line ends it. Comments and other fields (``event:``, ``id:``) are skipped."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        line = line.rstrip("\r")
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None

    def flush(self) -> str | None:
        if not self._data:
            return None
        data, self._data = "\n".join(self._data), []
        return data


DONE = "[DONE]"


class StreamDecoder(Generic[T]):
    """Turns each SSE event's data into a typed chunk, or raises the error it reports."""

    def __init__(self, response: httpx.Response, cls: type[T]) -> None:
        self.inference_id = inference_id(response)
        self._status = response.status_code
        self._response = response
        self._cls = cls

    def decode(self, data: str) -> T:
        try:
            payload = json.loads(data)
        except ValueError:
            raise APIResponseValidationError(
                f"a stream event is not JSON: {data[:80]!r}",
                status_code=self._status,
                request_id=self.inference_id or None,
            ) from None
        if isinstance(payload, dict) and "error" in payload:
            error = payload["error"]
            if isinstance(error, dict):
                message, kind = error.get("message"), error.get("type")
            else:
                message, kind = error, payload.get("error_type")
            raise APIStreamError(
                str(message or "the stream failed"),
                error_type=kind if isinstance(kind, str) else None,
                request_id=self.inference_id or None,
            )
        return build(self._cls, payload, self._response)


def unwrap_classification(body: Any) -> Any:
    """text-classification answers ``[[{label, score}]]`` (one list per input)."""
    if isinstance(body, list) and body and isinstance(body[0], list):
        return body[0]
    return body


def as_list(body: Any) -> Any:
    """question-answering answers one object, or a list when ``top_k`` > 1."""
    return [body] if isinstance(body, dict) else body


def decode_embeddings(body: Any) -> Any:
    """Base64 embeddings (little-endian float32, as OpenAI sends them) as float lists."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return body
    data = []
    for item in body["data"]:
        vector = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(vector, str):
            raw = base64.b64decode(vector)
            item = {**item, "embedding": list(struct.unpack(f"<{len(raw) // 4}f", raw))}
        data.append(item)
    return {**body, "data": data}


def time_param(value: datetime | str | None) -> str | None:
    """A time for the usage filters (the gateway reads a time without an offset as UTC)."""
    return value.isoformat() if isinstance(value, datetime) else value
