"""Upstreams that speak the OpenAI API: vLLM, TGI's messages API, Ollama, llama.cpp's
server, OpenAI itself, Together and the rest."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, ClassVar

import orjson

from gatewayz.config import ProviderConfig
from gatewayz.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gatewayz.redact import LOG_MAX_CHARS, Redactor
from gatewayz.retries import NO_ANSWER, parse_retry_after
from gatewayz.routing.attempts import with_retries
from gatewayz.tasks.base import TaskRequest, TaskResult
from gatewayz.tasks.registry import TASK_SPECS
from gatewayz.upstreams.base import JSONDict, Operation, Stopwatch, Upstream, serves
from gatewayz.upstreams.helpers import Call, Reply, TaskHelper
from gatewayz.upstreams.http1 import ConnectFailed, HTTP1Client, ProtocolFailed
from gatewayz.upstreams.openai_tasks.registry import OPENAI_TASKS

_PATHS: dict[Operation, str] = {
    "chat": "/chat/completions",
    "completion": "/completions",
    "responses": "/responses",
}
# The events that end a Responses API stream (it has no ``[DONE]``).
RESPONSES_LAST_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
# Upstream 4xx answers that are about the caller's request and are passed on as they are;
# any other 4xx (401, 403, 404...) means the gateway itself is misconfigured: a 502.
_PASS_THROUGH = frozenset({400, 413, 422, 429})
_MAX_RETRY_AFTER_S = 86_400
# Bytes of an upstream's error body that are looked at (each UTF-8 character is <= 4).
_MAX_ERROR_BYTES = 4 * LOG_MAX_CHARS
# The longest line of a stream taken from an upstream (a Responses stream's last event
# carries the whole answer).
_MAX_EVENT_BYTES = 16 * 1024 * 1024
# What the error of a server that takes no OpenAI-form JSON schema names.
_JSON_SCHEMA = "json_schema"

log = logging.getLogger("gatewayz.upstreams")


def error_text(body: bytes) -> str:
    """The human message inside an upstream's error body (not yet redacted)."""
    body = body[:_MAX_ERROR_BYTES]
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode(errors="replace").strip()
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or error
    return str(error)


def retry_after_seconds(value: str | None) -> str | None:
    """An upstream's ``Retry-After`` as whole seconds, or None: only a number the gateway
    has parsed is passed on, never the upstream's text."""
    seconds = parse_retry_after(value)
    if seconds is None or not math.isfinite(seconds):
        return None
    return str(min(max(0, math.ceil(seconds)), _MAX_RETRY_AFTER_S))


class OpenAIUpstream(Upstream):
    """Every call the adapter makes goes through ``post`` (non-streamed, with the retry
    rules) or ``stream``; task helpers only prepare requests and parse answers."""

    kind = "openai"
    helpers: ClassVar[Mapping[str, TaskHelper]] = OPENAI_TASKS
    tasks = serves(OPENAI_TASKS)
    # Where the OpenAI API lives under the model's URL.
    api_prefix: ClassVar[str] = ""

    def __init__(self, config: ProviderConfig, redactor: Redactor) -> None:
        super().__init__(config, redactor)
        assert config.base_url is not None
        self._base = config.base_url.rstrip("/")
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if config.api_key:
            self._headers["Authorization"] = f"Bearer {config.api_key}"
        self._http1: HTTP1Client | None = None
        # The ``Call.fallback_when`` of requests this server rejected: their fallback form
        # is sent first from then on (e.g. llama.cpp's way of taking a JSON schema).
        self._rejected_forms: set[str] = set()

    async def start(self) -> None:
        self._http1 = HTTP1Client(
            max_connections=self.config.max_connections,
            connect_timeout_s=self.config.connect_timeout_s,
            read_timeout_s=self.config.timeout_s,
            headers=self._headers,
        )

    async def close(self) -> None:
        if self._http1 is not None:
            await self._http1.close()

    def base(self, model: object) -> str:
        """The URL of the upstream's ``model``: the root every path is under."""
        return self._base

    def url(self, path: str, model: object) -> str:
        """Where to POST ``path`` (e.g. ``/chat/completions``) for ``model``."""
        return self.base(model) + path

    @property
    def http(self) -> HTTP1Client:
        """The lean pooled client every call goes through."""
        if self._http1 is None:
            raise RuntimeError("upstream used before start()")
        return self._http1

    async def run_task(self, model: str, request: TaskRequest, watch: Stopwatch) -> TaskResult:
        helper = self.helpers.get(request.task)
        if helper is None:
            return await super().run_task(model, request, watch)
        result = helper.parse(
            await self._call(helper.prepare(model, request), model, watch), request
        )
        if result.output is not None:
            result.output = TASK_SPECS[request.task].check_output(result.output)
        return result

    def prepare(self, op: Operation, payload: JSONDict) -> JSONDict:
        """The body as this server wants it; OpenAI's own form here (see ``HFUpstream``)."""
        return payload

    def _forms(self, op: Operation, payload: JSONDict) -> tuple[JSONDict, JSONDict | None]:
        """The body to send and, for a JSON schema in OpenAI's form, llama.cpp's form to
        send instead if this server rejects OpenAI's (llama-cpp-python's server does, its
        error naming ``json_schema``); once rejected, llama.cpp's form is sent first."""
        payload = self.prepare(op, payload)
        fmt = payload.get("response_format")
        spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            return payload, None
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            return payload, None
        llama = {**payload, "response_format": {"type": "json_object", "schema": spec["schema"]}}
        if _JSON_SCHEMA in self._rejected_forms:
            return llama, None
        return payload, llama

    def _rejects_json_schema(self, exc: UpstreamError) -> bool:
        if not isinstance(exc, (UpstreamRejected, UpstreamBadResponse)):
            return False
        if _JSON_SCHEMA not in exc.message:
            return False
        self._rejected_forms.add(_JSON_SCHEMA)
        return True

    async def create(self, op: Operation, payload: JSONDict, watch: Stopwatch) -> JSONDict:
        payload, fallback = self._forms(op, payload)
        path = self.api_prefix + _PATHS[op]
        try:
            reply = await self.post(path, payload, payload.get("model"), watch)
        except UpstreamError as exc:
            if fallback is None or not self._rejects_json_schema(exc):
                raise
            reply = await self.post(path, fallback, fallback.get("model"), watch)
        data = self._json_object(reply.body)
        field = "output" if op == "responses" else "choices"
        if not isinstance(data.get(field), list):
            raise UpstreamBadResponse(f"upstream {self.name!r} answered without {field!r}")
        return data

    async def _call(self, call: Call, model: str, watch: Stopwatch) -> Reply:
        """A helper's ``call``, in its fallback form if this server rejected it before or
        rejects it now."""
        if call.fallback is not None and call.fallback_when in self._rejected_forms:
            call = call.fallback
        try:
            return await self._checked(call, model, watch)
        except (UpstreamRejected, UpstreamBadResponse) as exc:
            if call.fallback is None or call.fallback_when not in exc.message:
                raise
        self._rejected_forms.add(call.fallback_when)
        return await self._checked(call.fallback, model, watch)

    async def _checked(self, call: Call, model: str, watch: Stopwatch) -> Reply:
        reply = await self.post(call.path, call.payload, model, watch)
        if call.media is not None and reply.content_type != call.media:
            shown = self.redactor.for_caller(reply.content_type, 80)  # the upstream's text
            wanted = "JSON" if call.media == "application/json" else call.media
            raise UpstreamBadResponse(f"upstream {self.name!r} answered {shown}, not {wanted}")
        return reply

    async def post(self, path: str, payload: JSONDict, model: object, watch: Stopwatch) -> Reply:
        """POST ``payload`` to ``path`` under ``model``'s URL: every non-streamed call the
        adapter makes. Returns the 200 answer; any other status is an ``UpstreamError``.
        An answer of 408/429/5xx or a dropped connection is asked again under the shared
        retry rules (``routing.attempts.with_retries``, ``max_retries``) unless the
        upstream asks for a longer wait than a caller should be kept waiting."""
        url, body = self.url(path, model), orjson.dumps(payload)
        return await with_retries(
            lambda: self._post_once(url, body, watch), self.config.max_retries
        )

    async def _post_once(self, url: str, body: bytes, watch: Stopwatch) -> Reply:
        start = time.perf_counter()
        try:
            answer = await self.http.post(url, body)
        except Exception as exc:
            raise self._translate(exc) from None
        finally:
            watch.since(start)
        if answer.status != 200:
            raise self._status_error(answer.status, answer.body, answer.retry_after)
        return answer

    def _json_object(self, body: bytes) -> JSONDict:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamBadResponse(
                f"upstream {self.name!r} answered with invalid JSON"
            ) from None
        if not isinstance(data, dict):
            raise UpstreamBadResponse(f"upstream {self.name!r} answered with a non-object")
        return data

    async def stream(
        self, op: Operation, payload: JSONDict, watch: Stopwatch
    ) -> AsyncIterator[JSONDict]:
        payload, fallback = self._forms(op, payload)
        chunks = self._stream(op, payload, watch)
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            return
        except UpstreamError as exc:
            if fallback is None or not self._rejects_json_schema(exc):
                raise
            chunks = self._stream(op, fallback, watch)
            first = await anext(chunks)
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()  # the connection goes back when the caller stops early

    async def _stream(
        self, op: Operation, payload: JSONDict, watch: Stopwatch
    ) -> AsyncGenerator[JSONDict, None]:
        start = time.perf_counter()
        try:
            url = self.url(self.api_prefix + _PATHS[op], payload.get("model"))
            resp = await self.http.stream(url, orjson.dumps(payload))
        except Exception as exc:
            watch.since(start)
            raise self._translate(exc) from None
        try:
            if resp.status != 200:
                try:
                    body = await resp.read_all(_MAX_ERROR_BYTES)
                except Exception as exc:
                    raise self._translate(exc) from None
                finally:
                    watch.since(start)
                raise self._status_error(resp.status, body, resp.retry_after)
            watch.since(start)
            pending: list[bytes] = []  # the start of a line not yet complete
            pending_size = 0
            while True:
                start = time.perf_counter()
                try:
                    data = await resp.read()
                except Exception as exc:
                    raise self._translate(exc) from None
                finally:
                    watch.since(start)
                if not data:
                    raise UpstreamBadResponse(f"upstream {self.name!r} ended the stream early")
                if b"\n" not in data:
                    pending.append(data)
                    pending_size += len(data)
                    if pending_size > _MAX_EVENT_BYTES:
                        raise UpstreamBadResponse(
                            f"upstream {self.name!r} sent a stream event over "
                            f"{_MAX_EVENT_BYTES} bytes"
                        )
                    continue
                if pending:
                    data = b"".join(pending) + data
                lines = data.split(b"\n")
                last = lines.pop()
                pending, pending_size = ([last], len(last)) if last else ([], 0)
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    chunk = self._event(line)
                    if chunk is None:
                        return
                    yield chunk
                    if op == "responses" and chunk.get("type") in RESPONSES_LAST_EVENTS:
                        return
        finally:
            resp.close()

    def _event(self, line: bytes) -> JSONDict | None:
        """The object of one ``data:`` line of a stream, or None for ``[DONE]``."""
        data = line[5:].strip()
        if data == b"[DONE]":
            return None
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UpstreamBadResponse(
                f"upstream {self.name!r} sent an unparsable stream event"
            ) from None
        if not isinstance(chunk, dict):
            raise UpstreamBadResponse(f"upstream {self.name!r} sent a non-object event")
        if "error" in chunk:
            message = self.error_message(orjson.dumps(chunk), "failed mid-stream")
            raise UpstreamBadResponse(f"upstream {self.name!r} failed mid-stream: {message}")
        return chunk

    def error_message(self, body: bytes, what: str) -> str:
        """An upstream's error ``body`` as a caller may see it (redacted, short); the
        whole body, redacted too, goes to the DEBUG log only."""
        if log.isEnabledFor(logging.DEBUG):
            text = body[:_MAX_ERROR_BYTES].decode(errors="replace")
            log.debug("upstream %r %s: %s", self.name, what, self.redactor.full(text))
        return self.redactor.for_caller(error_text(body))

    def _status_error(
        self, status: int, body: bytes, retry_after: str | None = None
    ) -> UpstreamError:
        error = self._status_error_of(status, body, retry_after)
        error.upstream_status, error.upstream_retry_after = status, retry_after
        return error

    def _status_error_of(self, status: int, body: bytes, retry_after: str | None) -> UpstreamError:
        message = self.error_message(body, f"answered {status}")
        if status in _PASS_THROUGH:
            message = message or f"upstream {self.name!r} answered {status} without a reason"
            return UpstreamRejected(
                message, status=status, retry_after=retry_after_seconds(retry_after)
            )
        if status == 504:
            return UpstreamTimeout(f"upstream {self.name!r} timed out (504)")
        return UpstreamBadResponse(f"upstream {self.name!r} answered {status}: {message}")

    def _translate(self, exc: BaseException) -> UpstreamError:
        error = self._translate_of(exc)
        if isinstance(exc, ProtocolFailed):
            # The connection dropped before an answer: retried as a 5xx would be.
            error.upstream_status = NO_ANSWER
        # No connection within connect_timeout_s: the circuit breaker opens at once.
        error.connect_timed_out = isinstance(exc, ConnectFailed) and exc.timed_out
        return error

    def _translate_of(self, exc: BaseException) -> UpstreamError:
        if isinstance(exc, ConnectFailed):
            return UpstreamUnavailable(f"upstream {self.name!r} is unreachable")
        if isinstance(exc, ProtocolFailed):
            return self._broke(exc)
        if isinstance(exc, TimeoutError):
            return UpstreamTimeout(
                f"upstream {self.name!r} did not answer within {self.config.timeout_s:g} s"
            )
        raise exc

    def _broke(self, exc: Exception) -> UpstreamBadResponse:
        # A parser's or client's message can quote the upstream's bytes or the URL.
        reason = self.redactor.for_caller(str(exc), 200)
        return UpstreamBadResponse(f"upstream {self.name!r} broke the connection: {reason}")
