"""Serving one model call: pick a route, call the upstream, meter it, record it."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from gatewayz.config import ModelConfig, RouteConfig
from gatewayz.errors import GatewayError, TaskNotSupported, UpstreamError, UpstreamUnavailable
from gatewayz.money import Usage, cost_nano_usd
from gatewayz.services.catalog import Catalog, route_order
from gatewayz.services.context import RequestContext
from gatewayz.services.credits import CreditGuard, max_task_cost
from gatewayz.services.ledger import UsageLedger, UsageRecord
from gatewayz.services.metrics import Metrics
from gatewayz.services.tokens import Tokenizers
from gatewayz.tasks.base import TaskRequest, TaskResult, input_chars
from gatewayz.upstreams.base import JSONDict, Operation, Upstream

log = logging.getLogger("gatewayz.inference")
T = TypeVar("T")


def _usage_of(answer: JSONDict) -> Usage | None:
    usage = answer.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(input_tokens=max(prompt, 0), output_tokens=max(completion, 0))


def _estimated_usage(payload: JSONDict, output_text: str, output_chunks: int = 0) -> Usage:
    """Only for an upstream that reports no usage. Streaming servers send one token per
    chunk, so a stream's output is counted exactly by its chunks; otherwise (and for the
    prompt) ~4 characters per token, rounded up."""
    source = payload.get("messages") or payload.get("prompt") or ""
    chars = len(str(source))
    output = output_chunks or -(-len(output_text) // 4)
    return Usage(input_tokens=-(-chars // 4), output_tokens=output)


def _text_of(chunk: JSONDict) -> str:
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
    ) -> None:
        self._catalog = catalog
        self._upstreams = upstreams
        self._ledger = ledger
        self._metrics = metrics
        self._credits = credits
        self._rng = random.Random()
        self._tokens = Tokenizers()

    def resolve(self, ctx: RequestContext, model_id: object, task: str) -> ModelConfig:
        model = self._catalog.resolve(model_id, task)
        ctx.model = model.id
        return model

    def _routes(self, model: ModelConfig, task: str) -> list[tuple[RouteConfig, Upstream]]:
        routes = model.routes if len(model.routes) == 1 else route_order(model.routes, self._rng)
        usable = [(r, self._upstreams[r.provider]) for r in routes]
        usable = [(r, u) for r, u in usable if task in u.tasks]
        if not usable:
            raise TaskNotSupported(f"no provider of model {model.id!r} serves {task!r}")
        return usable

    async def create(
        self, ctx: RequestContext, model: ModelConfig, task: str, op: Operation, payload: JSONDict
    ) -> JSONDict:
        """A non-streamed call; returns the OpenAI-shaped answer, already recorded (and,
        for a key with credits, paid for: reserved before the call, settled after it)."""
        hold = await self._credits.reserve(ctx.principal, model, payload, ctx.request_id)
        if hold.settled:  # an unmetered key: nothing to settle afterwards
            return await self._create(ctx, model, task, op, payload)
        try:
            return await self._create(ctx, model, task, op, payload)
        finally:
            await self._credits.settle(hold, ctx.cost_nano_usd)

    async def _create(
        self, ctx: RequestContext, model: ModelConfig, task: str, op: Operation, payload: JSONDict
    ) -> JSONDict:
        async def call(route: RouteConfig, upstream: Upstream) -> JSONDict:
            return await upstream.create(op, {**payload, "model": route.model}, ctx.watch)

        _, upstream, answer = await self._failover(ctx, model, task, call)
        usage = _usage_of(answer) or await self._counted(model, op, payload, _text_of(answer))
        answer["model"] = model.id
        answer.setdefault("created", 0)
        answer["usage"] = {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
            **{k: v for k, v in (answer.get("usage") or {}).items() if k.endswith("_details")},
        }
        await self._record(ctx, model, task, upstream.name, usage, 200)
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
        if counter is not None:
            try:
                prompt = counter.prompt_tokens(op, payload)
                return Usage(input_tokens=prompt, output_tokens=chunks or counter.text_tokens(text))
            except Exception as exc:  # e.g. messages its chat template rejects
                log.warning("counting tokens for model %r failed: %s", model.id, exc)
        return _estimated_usage(payload, text, chunks)

    async def _failover(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        task: str,
        call: Callable[[RouteConfig, Upstream], Awaitable[T]],
    ) -> tuple[RouteConfig, Upstream, T]:
        """``call`` on each route in turn until one is reachable (an unreachable upstream
        has been sent nothing, so the next can be tried); any other failure is recorded
        and raised."""
        last_error: GatewayError | None = None
        for route, upstream in self._routes(model, task):
            try:
                return route, upstream, await call(route, upstream)
            except UpstreamUnavailable as exc:
                last_error = exc
            except UpstreamError as exc:
                await self._record_failure(ctx, model, task, upstream.name, exc.status)
                raise
        assert last_error is not None
        await self._record_failure(ctx, model, task, "", last_error.status)
        raise last_error

    async def run_task(
        self, ctx: RequestContext, model: ModelConfig, request: TaskRequest
    ) -> TaskResult:
        """A non-chat HF task; the result is recorded (and priced, and for a key with
        credits paid for) before it is returned."""
        estimate = max_task_cost(model, request.inputs, request.task)
        hold = await self._credits.reserve_amount(ctx.principal, estimate, ctx.request_id)
        try:
            return await self._run_task(ctx, model, request)
        finally:
            await self._credits.settle(hold, ctx.cost_nano_usd)

    async def _run_task(
        self, ctx: RequestContext, model: ModelConfig, request: TaskRequest
    ) -> TaskResult:
        async def call(route: RouteConfig, upstream: Upstream) -> TaskResult:
            return await upstream.run_task(route.model, request, ctx.watch)

        _, upstream, result = await self._failover(ctx, model, request.task, call)
        if not result.usage.input_chars:
            result.usage = replace(result.usage, input_chars=input_chars(request.inputs))
        await self._record(ctx, model, request.task, upstream.name, result.usage, 200)
        return result

    async def stream(
        self, ctx: RequestContext, model: ModelConfig, task: str, op: Operation, payload: JSONDict
    ) -> AsyncIterator[JSONDict]:
        """Streamed chunks with the public model id; the usage record is committed before
        the last chunk is handed on, and still written if the caller goes away early."""
        body = {**payload, "stream": True, "stream_options": {"include_usage": True}}
        hold = await self._credits.reserve(ctx.principal, model, payload, ctx.request_id)
        try:
            route, upstream, chunks = await self._open_stream(model, task, op, body, ctx)
        except BaseException:
            self._credits.settle(hold, ctx.cost_nano_usd)
            raise
        usage: Usage | None = None
        text_parts: list[str] = []
        last: JSONDict = {}
        recorded = False
        status = 200
        try:
            async for chunk in chunks:
                chunk["model"] = model.id
                usage = _usage_of(chunk) or usage
                text = _text_of(chunk)
                if text:
                    text_parts.append(text)
                last = chunk
                yield chunk
            if usage is None:  # the upstream ignored stream_options: the caller still gets usage
                usage = await self._counted(model, op, payload, "", len(text_parts))
                yield _usage_chunk(last, model.id, usage)
            recorded = True
            await self._record(ctx, model, task, upstream.name, usage, 200)
            await self._credits.settle(hold, ctx.cost_nano_usd)
        except UpstreamError as exc:
            status = exc.status
            raise
        finally:
            if not recorded:
                # The caller left or the upstream failed: bill what was produced, without
                # awaiting (this may run inside a cancelled task).
                partial = usage or self._counted_now(model, op, payload, "", len(text_parts))
                self._ledger.submit(
                    self._usage_record(
                        ctx, model, task, route.provider, partial, status if status != 200 else 499
                    )
                )
            self._credits.settle(hold, ctx.cost_nano_usd)  # a no-op once settled above

    async def _open_stream(
        self, model: ModelConfig, task: str, op: Operation, body: JSONDict, ctx: RequestContext
    ) -> tuple[RouteConfig, Upstream, AsyncIterator[JSONDict]]:
        """Start the stream on the first route that answers, so failover happens before
        any byte has gone to the caller."""

        async def call(route: RouteConfig, upstream: Upstream) -> AsyncIterator[JSONDict]:
            chunks = upstream.stream(op, {**body, "model": route.model}, ctx.watch)
            first = await anext(chunks, None)
            return _prepend(first, chunks)

        return await self._failover(ctx, model, task, call)

    def _usage_record(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        task: str,
        provider: str,
        usage: Usage,
        status: int,
    ) -> UsageRecord:
        cost = cost_nano_usd(model.pricing, usage) if status < 400 or status == 499 else 0
        ctx.cost_nano_usd = cost  # what the request's credits are settled with
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
            cost_nano_usd=cost,
            latency_ms=ctx.latency_ms(),
            status=status,
        )

    async def _record(
        self,
        ctx: RequestContext,
        model: ModelConfig,
        task: str,
        provider: str,
        usage: Usage,
        status: int,
    ) -> None:
        record = self._usage_record(ctx, model, task, provider, usage, status)
        self._metrics.meter(model.id, usage.input_tokens, usage.output_tokens, record.cost_nano_usd)
        await self._ledger.record(record)

    async def _record_failure(
        self, ctx: RequestContext, model: ModelConfig, task: str, provider: str, status: int
    ) -> None:
        await self._ledger.record(
            self._usage_record(ctx, model, task, provider, Usage(requests=0), status)
        )


def _usage_chunk(last: JSONDict, model_id: str, usage: Usage) -> JSONDict:
    return {
        "id": last.get("id", ""),
        "object": last.get("object", "chat.completion.chunk"),
        "created": last.get("created", 0),
        "model": model_id,
        "choices": [],
        "usage": {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
        },
    }


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
