"""Serving one model call: pick a route, call the upstream, meter it, record it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from gatewayz.config import ModelConfig, RouteConfig
from gatewayz.errors import (
    GatewayError,
    ModelNotFound,
    TaskNotSupported,
    UpstreamError,
    UpstreamUnavailable,
)
from gatewayz.local.llama import PACKAGED_GGUF
from gatewayz.money import Usage, cost_nano_usd
from gatewayz.routing.attempts import with_retries
from gatewayz.routing.health import RouteHealth
from gatewayz.schemas.usage import responses_usage, usage_chunk, usage_object, usage_of
from gatewayz.services.bounds import Bound, chat_bound, task_bound
from gatewayz.services.catalog import Catalog
from gatewayz.services.context import RequestContext
from gatewayz.services.credits import CreditGuard, Hold
from gatewayz.services.ledger import UsageLedger, UsageRecord
from gatewayz.services.limits import RateLimiter
from gatewayz.services.metrics import Metrics
from gatewayz.services.tokens import Tokenizers
from gatewayz.tasks.base import TaskRequest, TaskResult, input_chars
from gatewayz.upstreams.base import JSONDict, Operation, Upstream

log = logging.getLogger("gatewayz.inference")
T = TypeVar("T")
MAX_BIGINT = 2**63 - 1
ROUTE_HEADER = b"x-gatewayz-route"


def _estimated_usage(payload: JSONDict, output_text: str, output_chunks: int = 0) -> Usage:
    """Only for an upstream that reports no usage. Streaming servers send one token per
    chunk, so a stream's output is counted exactly by its chunks; otherwise (and for the
    prompt) ~4 characters per token, rounded up."""
    source = payload.get("messages") or payload.get("prompt") or payload.get("input") or ""
    chars = len(str(source))
    output = output_chunks or -(-len(output_text) // 4)
    return Usage(input_tokens=-(-chars // 4), output_tokens=output)


def _text_of(chunk: JSONDict) -> str:
    if chunk.get("type") == "response.output_text.delta":  # a Responses API stream event
        return str(chunk.get("delta") or "")
    out = []
    for choice in chunk.get("choices") or ():
        if isinstance(choice, dict):
            delta = choice.get("delta") or choice.get("message") or {}
            out.append(str(choice.get("text") or delta.get("content") or ""))
    return "".join(out)


class InferenceService:
    def __init__(
        self,
        catalog: Catalog,
        upstreams: dict[str, Upstream],
        ledger: UsageLedger,
        metrics: Metrics,
        credits: CreditGuard,
        limiter: RateLimiter,
        health: RouteHealth,
    ) -> None:
        self._catalog = catalog
        self.health = health
        self._limiter = limiter
        self._upstreams = upstreams
        self._ledger = ledger
        self._metrics = metrics
        self._credits = credits
        self._tokens = Tokenizers()

    def shown_provider(self, model_id: str, provider: str) -> str:
        """``provider``, of a usage record for ``model_id``, as callers see it."""
        try:
            model: ModelConfig | None = self._catalog.get(model_id)
        except ModelNotFound:
            model = None
        return self.health.shown_provider(model, provider)

    def resolve(self, ctx: RequestContext, model_id: object, task: str) -> ModelConfig:
        model, suffix = self._catalog.resolve_routed(model_id, task)
        ctx.policy = self.health.policy(model, suffix)
        ctx.model = model.id
        return model

    def _routes(
        self, ctx: RequestContext, model: ModelConfig, task: str
    ) -> list[tuple[RouteConfig, Upstream]]:
        """The routes serving ``task``, in the order of the request's routing policy."""
        routes = tuple(r for r in model.routes if task in self._upstreams[r.provider].tasks)
        if not routes:
            raise TaskNotSupported(f"no provider of model {model.id!r} serves {task!r}")
        return [
            (r, self._upstreams[r.provider]) for r in self.health.plan(model, routes, ctx.policy)
        ]

    async def create(
        self, ctx: RequestContext, model: ModelConfig, task: str, op: Operation, payload: JSONDict
    ) -> JSONDict:
        """A non-streamed call; returns the OpenAI-shaped answer, already recorded (and,
        for a key with credits, paid for: reserved before the call, settled after it)."""
        bound = chat_bound(model, payload)
        return await self._metered(
            ctx, model, bound, lambda: self._create(ctx, model, task, op, payload, bound)
        )

    async def _metered(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        bound: Bound,
        work: Callable[[], Awaitable[T]],
    ) -> T:
        """Admit the request under its rate limits and hold its credits, do ``work``, then
        settle the credits and release the limits (no round trip for keys without them)."""
        lease = await self._limiter.admit(ctx, model.id, bound)
        try:
            hold = await self._hold(ctx, model, bound)
            if hold.settled:  # an unmetered key: nothing to settle afterwards
                return await work()
            try:
                return await work()
            finally:
                await self._credits.settle(hold, ctx.cost_nano_usd)
        finally:
            if lease is not None:
                await self._limiter.release(lease, ctx.tokens)

    async def _hold(self, ctx: RequestContext, model: ModelConfig, bound: Bound) -> Hold:
        """Reserve the request's most possible cost on a metered key."""
        if not ctx.principal.metered or ctx.principal.is_partner:
            return Hold(ctx.principal.key_id, 0, settled=True)
        hold = await self._credits.reserve(
            ctx.principal, bound.cost_nano_usd(model), ctx.request_id
        )
        if not hold.settled:
            ctx.hold_nano_usd = hold.amount_nano_usd
        return hold

    async def _create(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        task: str,
        op: Operation,
        payload: JSONDict,
        bound: Bound,
    ) -> JSONDict:
        async def call(route: RouteConfig, upstream: Upstream) -> JSONDict:
            return await upstream.create(op, {**payload, "model": route.model}, ctx.watch)

        route, upstream, answer, started = await self._failover(ctx, model, task, call)
        latency_s = time.perf_counter() - started
        usage = usage_of(answer) or await self._counted(model, op, payload, _text_of(answer))
        self.health.measured(model.id, route, latency_s, usage.output_tokens)
        record = await self._record(ctx, model, task, upstream.name, usage, 200, bound)
        answer["model"] = model.id
        if op == "responses":
            answer["usage"] = responses_usage(record_usage(record))
            return answer
        answer.setdefault("created", 0)
        answer["usage"] = {
            **usage_object(record_usage(record)),
            **{k: v for k, v in (answer.get("usage") or {}).items() if k.endswith("_details")},
        }
        return answer

    async def _counted(
        self, model: ModelConfig, op: Operation, payload: JSONDict, text: str, chunks: int = 0
    ) -> Usage:
        """Usage the upstream did not report, counted with the model's tokenizer (loaded
        on first need) or else estimated."""
        if model.tokenizer is not None:
            try:
                await self._tokens.get(model.tokenizer)
            except Exception as exc:  # a broken tokenizer must not fail the request
                log.warning("tokenizer %r of model %r unusable: %s", model.tokenizer, model.id, exc)
        return self._counted_now(model, op, payload, text, chunks)

    def _counted_now(
        self, model: ModelConfig, op: Operation, payload: JSONDict, text: str, chunks: int = 0
    ) -> Usage:
        counter = self._tokens.loaded(model.tokenizer) if model.tokenizer else None
        if counter is not None and op != "responses":  # its counters take chat bodies
            try:
                prompt = counter.prompt_tokens(op, payload)
                return Usage(input_tokens=prompt, output_tokens=chunks or counter.text_tokens(text))
            except Exception as exc:  # e.g. messages its chat template rejects
                log.warning("counting tokens for model %r failed: %s", model.id, exc)
        return _estimated_usage(payload, text, chunks)

    def speaks_responses(self, model: ModelConfig) -> bool:
        """Whether every provider of ``model`` speaks the Responses API itself (then a
        Responses request is passed through rather than translated)."""
        return all(self._upstreams[r.provider].config.responses_api for r in model.routes)

    async def count_prompt(self, model: ModelConfig, payload: JSONDict) -> tuple[int, bool]:
        """The prompt tokens of a chat ``payload`` to ``model``, and whether the count is
        exact: counted by the model's tokenizer (its ``tokenizer``, or the embedded model
        it runs on) over a prompt without tools. Otherwise it is the gateway's estimate."""
        spec = self._tokenizer_of(model)
        if spec is not None:
            try:
                counter = await self._tokens.get(spec)
                tokens = counter.prompt_tokens("chat", payload)
                tools = payload.get("tools")
                if not tools:
                    return tokens, True
                return tokens + counter.text_tokens(orjson.dumps(tools).decode()), False
            except Exception as exc:  # a broken tokenizer must not fail the request
                log.warning("counting tokens for model %r failed: %s", model.id, exc)
        return _estimated_usage(payload, "").input_tokens, False

    def _tokenizer_of(self, model: ModelConfig) -> str | None:
        if model.tokenizer is not None:
            return model.tokenizer
        (route, *others) = model.routes
        local = self._upstreams[route.provider].kind == "local"
        if local and not others and (route.model in PACKAGED_GGUF or route.model.endswith(".gguf")):
            return route.model
        return None

    async def _failover(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        task: str,
        call: Callable[[RouteConfig, Upstream], Awaitable[T]],
    ) -> tuple[RouteConfig, Upstream, T, float]:
        """``call`` on each route in turn, in the policy's order, until one is reachable
        (an unreachable upstream has been sent nothing, so the next can be tried); any
        other failure is recorded and raised. A route whose breaker is open is skipped
        without a call; when all are, the caller gets a 503 with ``Retry-After``. Every
        outcome goes to the route's breaker and measurements. Returns the route, its
        upstream, the answer, and when the answering call started (``perf_counter``)."""
        last_error: GatewayError | None = None
        routes = self._routes(ctx, model, task)
        for route, upstream in routes:
            if not self.health.acquire(model.id, route):
                continue
            started = time.perf_counter()
            try:
                result = await call(route, upstream)
            except UpstreamUnavailable as exc:
                self.health.failed(model.id, route, exc)
                last_error = exc
                continue
            except UpstreamError as exc:
                self.health.failed(model.id, route, exc)
                self._tell_route(ctx, model, route)
                await self._record_failure(ctx, model, task, upstream.name, exc.status)
                raise
            self.health.answered(model.id, route)
            self._tell_route(ctx, model, route)
            return route, upstream, result, started
        if last_error is None:
            last_error = self.health.unavailable(model, [r for r, _ in routes], ctx.policy)
        await self._record_failure(ctx, model, task, "", last_error.status)
        raise last_error

    def _tell_route(self, ctx: RequestContext, model: ModelConfig, route: RouteConfig) -> None:
        """The route that answered, in the ``x-gatewayz-route`` response header."""
        ctx.add_header(ROUTE_HEADER, self.health.names(model)[route.provider].encode())

    async def run_task(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        request: TaskRequest,
        check: Callable[[TaskResult], None] | None = None,
    ) -> TaskResult:
        """A non-chat HF task; the result is recorded (and priced, and for a key with
        credits paid for) before it is returned. ``check`` may refuse the result (raise a
        ``GatewayError``, e.g. for an option the model turns out not to support): the
        request is then recorded with that status and costs nothing."""
        bound = task_bound(model, request.inputs, request.task)
        return await self._metered(
            ctx, model, bound, lambda: self._run_task(ctx, model, request, bound, check)
        )

    async def _run_task(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        request: TaskRequest,
        bound: Bound,
        check: Callable[[TaskResult], None] | None,
    ) -> TaskResult:
        async def call(route: RouteConfig, upstream: Upstream) -> TaskResult:
            return await upstream.run_task(route.model, request, ctx.watch)

        route, upstream, result, started = await self._failover(ctx, model, request.task, call)
        self.health.measured(model.id, route, time.perf_counter() - started)
        if check is not None:
            try:
                check(result)
            except GatewayError as exc:
                await self._record_failure(ctx, model, request.task, upstream.name, exc.status)
                raise
        if not result.usage.input_chars:
            result.usage = replace(result.usage, input_chars=input_chars(request.inputs))
        record = await self._record(
            ctx, model, request.task, upstream.name, result.usage, 200, bound
        )
        result.usage = record_usage(record)
        return result

    async def stream(
        self, ctx: RequestContext, model: ModelConfig, task: str, op: Operation, payload: JSONDict
    ) -> AsyncIterator[JSONDict]:
        """Streamed chunks with the public model id; the usage record is committed before
        the last chunk is handed on, and still written if the caller goes away early or
        the upstream fails midway: either way the request is billed for what was
        delivered."""
        body = {**payload, "stream": True}
        if op != "responses":  # Responses streams always end with their usage
            body["stream_options"] = {"include_usage": True}
        bound = chat_bound(model, payload)
        lease = await self._limiter.admit(ctx, model.id, bound)
        try:
            hold = await self._hold(ctx, model, bound)
        except BaseException:
            if lease is not None:
                self._limiter.release_soon(lease, 0)
            raise
        try:
            route, upstream, chunks, started = await self._open_stream(model, task, op, body, ctx)
            first_token_s = time.perf_counter() - started
        except BaseException:
            self._credits.settle(hold, ctx.cost_nano_usd)
            if lease is not None:
                self._limiter.release_soon(lease, ctx.tokens)
            raise
        usage: Usage | None = None
        text_parts: list[str] = []
        last: JSONDict = {}
        recorded = False
        status = 200
        try:
            async for chunk in chunks:
                _set_model(chunk, model.id)
                reported = usage_of(chunk)
                if reported is not None:
                    usage = reported
                    billed, implausible = bound.clamp(reported)
                    if implausible:  # the caller sees what it is billed for
                        _set_usage(chunk, billed)
                text = _text_of(chunk)
                if text:
                    text_parts.append(text)
                last = chunk
                yield chunk
            if usage is None:  # the upstream ignored stream_options: the caller still gets usage
                usage = await self._counted(model, op, payload, "", len(text_parts))
                if op != "responses":  # (a Responses stream has no usage chunk to add)
                    yield usage_chunk(last, model.id, bound.clamp(usage)[0])
            recorded = True
            latency_s = time.perf_counter() - started
            self.health.measured(model.id, route, latency_s, usage.output_tokens, first_token_s)
            await self._record(ctx, model, task, upstream.name, usage, 200, bound)
            await self._credits.settle(hold, ctx.cost_nano_usd)
            if lease is not None:
                await self._limiter.release(lease, ctx.tokens)
        except UpstreamError as exc:
            status = exc.status
            self.health.failed(model.id, route, exc)
            raise
        finally:
            if not recorded:
                # The caller left (499) or the upstream failed: bill what was delivered,
                # without awaiting (this may run inside a cancelled task).
                partial = usage or self._counted_now(model, op, payload, "", len(text_parts))
                self._ledger.submit(
                    self._usage_record(
                        ctx,
                        model,
                        task,
                        route.provider,
                        partial,
                        status if status != 200 else 499,
                        bound,
                    ),
                    held=ctx.hold_nano_usd is not None,
                )
            self._credits.settle(hold, ctx.cost_nano_usd)  # a no-op once settled above
            if lease is not None:  # likewise
                self._limiter.release_soon(lease, ctx.tokens)

    async def _open_stream(
        self, model: ModelConfig, task: str, op: Operation, body: JSONDict, ctx: RequestContext
    ) -> tuple[RouteConfig, Upstream, AsyncIterator[JSONDict], float]:
        """Start the stream on the first route that answers, so failover happens before
        any byte has gone to the caller; until its first chunk, an answer of 408/429/5xx
        is asked again under the shared retry rules (``with_retries``)."""

        async def call(route: RouteConfig, upstream: Upstream) -> AsyncIterator[JSONDict]:
            async def attempt() -> AsyncIterator[JSONDict]:
                chunks = upstream.stream(op, {**body, "model": route.model}, ctx.watch)
                first = await anext(chunks, None)
                return _prepend(first, chunks)

            return await with_retries(attempt, upstream.config.max_retries)

        return await self._failover(ctx, model, task, call)

    def _usage_record(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        task: str,
        provider: str,
        usage: Usage,
        status: int,
        bound: Bound | None,
    ) -> UsageRecord:
        """The request's record, priced when ``bound`` is given (a request that was
        served, wholly or in part) and free otherwise. Counts past the bound are billed at
        the bound and flagged; a cost past the credit hold is charged at the hold; the
        rest is kept as ``uncharged_nano_usd``."""
        charged = uncharged = 0
        flags: list[str] = []
        if bound is not None:
            billed, implausible = bound.clamp(usage)
            cost = cost_nano_usd(model.pricing, billed)
            charged = cost if ctx.hold_nano_usd is None else min(cost, ctx.hold_nano_usd)
            claimed = cost_nano_usd(model.pricing, usage) if implausible else cost
            uncharged = min(claimed - charged, MAX_BIGINT)
            if implausible:
                flags.append("usage_implausible")
                log.warning(
                    "request %s: upstream %r reported usage past the request's bound "
                    "(%d input, %d output tokens); billed %d and %d",
                    ctx.request_id,
                    provider,
                    usage.input_tokens,
                    usage.output_tokens,
                    billed.input_tokens,
                    billed.output_tokens,
                )
            if cost > charged:
                flags.append("hold_exceeded")
            usage = billed
        ctx.cost_nano_usd = charged  # what the request's credits are settled with
        ctx.tokens = usage.input_tokens + usage.output_tokens  # what its rate limits count
        return UsageRecord(
            request_id=ctx.request_id,
            api_key_id=ctx.principal.key_id,
            created_at=datetime.now(UTC),
            route=ctx.route,
            model=model.id,
            task=task,
            provider=provider,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            images=usage.images,
            input_chars=usage.input_chars,
            cost_nano_usd=charged,
            latency_ms=ctx.latency_ms(),
            status=status,
            uncharged_nano_usd=uncharged,
            flags=",".join(flags),
        )

    async def _record(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        task: str,
        provider: str,
        usage: Usage,
        status: int,
        bound: Bound,
    ) -> UsageRecord:
        record = self._usage_record(ctx, model, task, provider, usage, status, bound)
        self._metrics.meter(
            model.id, record.input_tokens, record.output_tokens, record.cost_nano_usd
        )
        await self._ledger.record(record, held=ctx.hold_nano_usd is not None)
        return record

    async def _record_failure(
        self, ctx: RequestContext, model: ModelConfig, task: str, provider: str, status: int
    ) -> None:
        await self._ledger.record(
            self._usage_record(ctx, model, task, provider, Usage(requests=0), status, None),
            held=ctx.hold_nano_usd is not None,
        )


def record_usage(record: UsageRecord) -> Usage:
    """The counts a record billed."""
    return Usage(
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        images=record.images,
        input_chars=record.input_chars,
    )


def _set_model(chunk: JSONDict, model_id: str) -> None:
    """The public model id on a chat chunk, or on a Responses event's response."""
    response = chunk.get("response")
    if isinstance(response, dict):
        response["model"] = model_id
    elif "type" not in chunk or "model" in chunk:
        chunk["model"] = model_id


def _set_usage(chunk: JSONDict, usage: Usage) -> None:
    response = chunk.get("response")
    if isinstance(response, dict):
        response["usage"] = responses_usage(usage)
    else:
        chunk["usage"] = usage_object(usage)


async def _prepend(first: Any, rest: AsyncIterator[JSONDict]) -> AsyncIterator[JSONDict]:
    try:
        if first is not None:
            yield first
        async for chunk in rest:
            yield chunk
    finally:
        closer = getattr(rest, "aclose", None)
        if closer is not None:
            await asyncio.shield(closer())
