"""``GatewayzClient``: generated from ``_async_client.py`` by ``scripts/unasync.py``.

Do not edit: change ``_async_client.py`` and run ``python scripts/unasync.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from gatewayz_py_hf._base_client import (
    DONE,
    BaseClient,
    SSEDecoder,
    StreamDecoder,
    Timeout,
    as_list,
    build,
    clean,
    decode_embeddings,
    inference_id,
    read_json,
    status_error,
    task_body,
    time_param,
    unwrap_classification,
)
from gatewayz_py_hf._constants import (
    DEFAULT_CONNECTION_LIMITS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from gatewayz_py_hf._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    GatewayzError,
)
from gatewayz_py_hf._types_openai import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    CreateEmbeddingResponse,
    ImagesResponse,
    ModelsPage,
)
from gatewayz_py_hf._types_platform import (
    Balance,
    CostItem,
    CostQuote,
    ModelList,
    ModelMapping,
    ModelStatus,
    RegistryModel,
    RequestCosts,
    RouteSpec,
    UnmappedModel,
    UsagePage,
    UsageRecord,
)
from gatewayz_py_hf._types_tasks import (
    ConversationalResult,
    FeatureExtractionResult,
    FillMaskResult,
    QuestionAnsweringResult,
    SentenceSimilarityResult,
    SummarizationResult,
    TaskRunResult,
    TextClassificationResult,
    TextGenerationResult,
    TextGenerationStreamOutput,
    TextToImageResult,
    TokenClassificationResult,
    TranslationResult,
    ZeroShotClassificationResult,
)

T = TypeVar("T")
Messages = Sequence[Mapping[str, Any]]


class Stream(Generic[T]):
    """The typed chunks of a streamed answer, as they arrive.

    Iterate it (``for chunk in stream``); the connection is released at the end, on
    an error, or by ``close()`` / leaving ``with stream:`` early. A failure the
    server reports mid-stream raises ``APIStreamError``."""

    def __init__(self, response: httpx.Response, cls: type[T]) -> None:
        self._response = response
        self._decoder = StreamDecoder(response, cls)
        self.inference_id = self._decoder.inference_id
        self._iterator = self._chunks()

    def _chunks(self) -> Iterator[T]:
        events = SSEDecoder()
        try:
            for line in self._response.iter_lines():
                data = events.feed(line)
                if data is None:
                    continue
                if data == DONE:
                    return
                yield self._decoder.decode(data)
            data = events.flush()
            if data is not None and data != DONE:
                yield self._decoder.decode(data)
        except httpx.TimeoutException as exc:
            raise APITimeoutError("the stream stalled past the read timeout") from exc
        except httpx.TransportError as exc:
            raise APIConnectionError(
                f"the stream broke: {type(exc).__name__}", request_id=self.inference_id
            ) from exc
        finally:
            self._response.close()

    def __iter__(self) -> Iterator[T]:
        return self._iterator

    def __next__(self) -> T:
        return self._iterator.__next__()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class GatewayzClient(BaseClient):
    """Synchronous client for a Gatewayz gateway.

    ``api_key`` and ``base_url`` default to ``GATEWAYZ_API_KEY`` and ``GATEWAYZ_BASE_URL``
    (then ``http://127.0.0.1:8000``). One pooled ``httpx.Client`` serves every call of
    an instance; use it as ``with GatewayzClient() as client:`` or call
    ``close()``. Failed calls are retried ``max_retries`` times (408, 409, 429, 5xx and
    connection errors) with jittered backoff that honours ``Retry-After``.
    ``http_client`` replaces the built-in one (e.g. for a custom transport or proxy); it is
    not closed by this client.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | httpx.URL | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, limits=DEFAULT_CONNECTION_LIMITS)

    def close(self) -> None:
        """Close the connection pool (when this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> GatewayzClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One call with retries: a 2xx response (unread when ``stream``), else raise."""
        url = self.base_url.join(path.lstrip("/"))
        query = clean(params or {})
        retries_done = 0
        while True:
            request = self._http.build_request(
                method, url, json=body, params=query, headers=self._headers, timeout=self.timeout
            )
            response: httpx.Response | None = None
            error: GatewayzError
            cause: Exception | None
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                error, cause = APITimeoutError(), exc
            except httpx.TransportError as exc:
                error = APIConnectionError(f"cannot reach {self.base_url}: {type(exc).__name__}")
                cause = exc
            else:
                if response.status_code < 400:
                    return response
                response.read()
                error, cause = status_error(response), None
            delay = self._retry_delay(retries_done, response)
            if delay is None:
                raise error from cause
            time.sleep(delay)
            retries_done += 1

    def _call(
        self,
        method: str,
        path: str,
        cls: type[T],
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        exact_numbers: bool = False,
        prepare: Callable[[Any], Any] | None = None,
    ) -> T:
        response = self._send(method, path, body=body, params=params)
        data = read_json(response, exact_numbers=exact_numbers)
        return build(cls, prepare(data) if prepare else data, response)

    def _task(
        self, task: str, cls: type[T], body: Any, prepare: Callable[[Any], Any] | None = None
    ) -> T:
        """A Hugging Face task: its answer is kept whole as the result's ``output``."""
        response = self._send("POST", f"/hf/tasks/{task}", body=body)
        data = read_json(response)
        return build(cls, {"output": prepare(data) if prepare else data}, response)

    def _stream(self, path: str, body: Any, cls: type[T]) -> Stream[T]:
        response = self._send("POST", path, body=body, stream=True)
        return Stream(response, cls)

    # -- OpenAI-compatible -------------------------------------------------------------

    def chat_completion(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatCompletion:
        """``POST /v1/chat/completions``: OpenAI-style messages in, a chat completion out."""
        body = self._chat_body(
            messages, model, max_tokens, temperature, top_p, stop, seed, response_format
        )
        return self._call(
            "POST", "/v1/chat/completions", ChatCompletion, body={**body, **(extra_body or {})}
        )

    def chat_completion_stream(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Stream[ChatCompletionChunk]:
        """``chat_completion`` streamed: ``ChatCompletionChunk``s as the model writes."""
        body = self._chat_body(
            messages, model, max_tokens, temperature, top_p, stop, seed, response_format
        )
        body = {**body, **(extra_body or {}), "stream": True}
        return self._stream("/v1/chat/completions", body, ChatCompletionChunk)

    @staticmethod
    def _chat_body(
        messages: Messages,
        model: str | None,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop: str | Sequence[str] | None,
        seed: int | None,
        response_format: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        return clean(
            {
                "messages": [dict(m) for m in messages],
                "model": model,
                "max_tokens": max_tokens,
                "temperature": temperature,
                "top_p": top_p,
                "stop": stop if stop is None or isinstance(stop, str) else list(stop),
                "seed": seed,
                "response_format": dict(response_format) if response_format else None,
            }
        )

    def completion(
        self,
        prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Completion:
        """``POST /v1/completions``: plain text continuation."""
        body = self._completion_body(prompt, model, max_tokens, temperature, top_p, stop, seed)
        return self._call(
            "POST", "/v1/completions", Completion, body={**body, **(extra_body or {})}
        )

    def completion_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Stream[Completion]:
        """``completion`` streamed: one ``Completion`` chunk per piece of text."""
        body = self._completion_body(prompt, model, max_tokens, temperature, top_p, stop, seed)
        body = {**body, **(extra_body or {}), "stream": True}
        return self._stream("/v1/completions", body, Completion)

    @staticmethod
    def _completion_body(
        prompt: str,
        model: str | None,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop: str | Sequence[str] | None,
        seed: int | None,
    ) -> dict[str, Any]:
        return clean(
            {
                "prompt": prompt,
                "model": model,
                "max_tokens": max_tokens,
                "temperature": temperature,
                "top_p": top_p,
                "stop": stop if stop is None or isinstance(stop, str) else list(stop),
                "seed": seed,
            }
        )

    def embeddings(
        self,
        input: str | Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        encoding_format: Literal["float", "base64"] = "base64",
    ) -> CreateEmbeddingResponse:
        """``POST /v1/embeddings``. Vectors come back as floats either way; base64 (the
        default) is only the more compact wire format."""
        body = clean(
            {
                "input": input if isinstance(input, str) else list(input),
                "model": model,
                "dimensions": dimensions,
                "encoding_format": encoding_format,
            }
        )
        return self._call(
            "POST", "/v1/embeddings", CreateEmbeddingResponse, body=body, prepare=decode_embeddings
        )

    def image_generation(
        self,
        prompt: str,
        *,
        model: str | None = None,
        size: str | None = None,
        seed: int | None = None,
        negative_prompt: str | None = None,
    ) -> ImagesResponse:
        """``POST /v1/images/generations`` (OpenAI shape, base64 PNG in ``data``)."""
        body = clean(
            {
                "prompt": prompt,
                "model": model,
                "size": size,
                "seed": seed,
                "negative_prompt": negative_prompt,
            }
        )
        return self._call("POST", "/v1/images/generations", ImagesResponse, body=body)

    def list_openai_models(self) -> ModelsPage:
        """``GET /v1/models``: the live models with their exact prices (USD per million
        tokens) and context lengths."""
        return self._call("GET", "/v1/models", ModelsPage, exact_numbers=True)

    # -- Hugging Face tasks ------------------------------------------------------------

    def text_generation(
        self,
        inputs: str,
        *,
        model: str | None = None,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        repetition_penalty: float | None = None,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
        do_sample: bool | None = None,
        return_full_text: bool | None = None,
        details: bool | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> TextGenerationResult:
        """text-generation (TGI format): ``result.output[0].generated_text``."""
        params = {
            "max_new_tokens": max_new_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "top_k": top_k,
            "repetition_penalty": repetition_penalty,
            "stop": list(stop) if stop is not None else None,
            "seed": seed,
            "do_sample": do_sample,
            "return_full_text": return_full_text,
            "details": details,
        }
        body = task_body(inputs, model, params, parameters)
        return self._task("text-generation", TextGenerationResult, body)

    def text_generation_stream(
        self,
        inputs: str,
        *,
        model: str | None = None,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
        return_full_text: bool | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Stream[TextGenerationStreamOutput]:
        """text-generation streamed as TGI token events; the last one carries the whole
        ``generated_text`` and ``details``."""
        params = {
            "max_new_tokens": max_new_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "stop": list(stop) if stop is not None else None,
            "seed": seed,
            "return_full_text": return_full_text,
        }
        body = {**task_body(inputs, model, params, parameters), "stream": True}
        return self._stream("/hf/tasks/text-generation", body, TextGenerationStreamOutput)

    def conversational(
        self,
        inputs: str | Messages,
        *,
        model: str | None = None,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> ConversationalResult:
        """conversational: a user message, or OpenAI-style messages, in;
        ``[{"generated_text"}]`` out. (``chat_completion`` gives the OpenAI shape.)"""
        messages = inputs if isinstance(inputs, str) else [dict(m) for m in inputs]
        params = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
        body = task_body(messages, model, params, parameters)
        return self._task("conversational", ConversationalResult, body)

    def summarization(
        self,
        inputs: str,
        *,
        model: str | None = None,
        max_length: int | None = None,
        min_length: int | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> SummarizationResult:
        """summarization: ``result.summary_text``."""
        params = {"max_length": max_length, "min_length": min_length}
        body = task_body(inputs, model, params, parameters)
        return self._task("summarization", SummarizationResult, body)

    def translation(
        self,
        inputs: str,
        *,
        model: str | None = None,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> TranslationResult:
        """translation: ``result.translation_text``. Give both languages or neither (the
        model's own pair)."""
        body = task_body(inputs, model, {"src_lang": src_lang, "tgt_lang": tgt_lang}, parameters)
        return self._task("translation", TranslationResult, body)

    def question_answering(
        self,
        question: str,
        context: str,
        *,
        model: str | None = None,
        top_k: int | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> QuestionAnsweringResult:
        """Extractive question answering: ``result.answer`` is a span of ``context``."""
        inputs = {"question": question, "context": context}
        body = task_body(inputs, model, {"top_k": top_k}, parameters)
        return self._task("question-answering", QuestionAnsweringResult, body, as_list)

    def text_classification(
        self,
        inputs: str,
        *,
        model: str | None = None,
        top_k: int | None = None,
        function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> TextClassificationResult:
        """text-classification: labels with scores, best first (``result.label``)."""
        params = {"top_k": top_k, "function_to_apply": function_to_apply}
        body = task_body(inputs, model, params, parameters)
        return self._task(
            "text-classification", TextClassificationResult, body, unwrap_classification
        )

    def token_classification(
        self,
        inputs: str,
        *,
        model: str | None = None,
        aggregation_strategy: Literal["none", "simple", "first", "average", "max"] | None = None,
        ignore_labels: Sequence[str] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> TokenClassificationResult:
        """token-classification (named entities) with character offsets into ``inputs``."""
        params = {
            "aggregation_strategy": aggregation_strategy,
            "ignore_labels": list(ignore_labels) if ignore_labels is not None else None,
        }
        body = task_body(inputs, model, params, parameters)
        return self._task("token-classification", TokenClassificationResult, body)

    def feature_extraction(
        self,
        inputs: str | Sequence[str],
        *,
        model: str | None = None,
        normalize: bool | None = None,
        truncate: bool | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> FeatureExtractionResult:
        """feature-extraction: one vector per input text."""
        texts = inputs if isinstance(inputs, str) else list(inputs)
        params = {"normalize": normalize, "truncate": truncate}
        body = task_body(texts, model, params, parameters)
        return self._task("feature-extraction", FeatureExtractionResult, body)

    def sentence_similarity(
        self,
        source_sentence: str,
        sentences: Sequence[str],
        *,
        model: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> SentenceSimilarityResult:
        """sentence-similarity: how close each of ``sentences`` is to ``source_sentence``."""
        inputs = {"source_sentence": source_sentence, "sentences": list(sentences)}
        body = task_body(inputs, model, {}, parameters)
        return self._task("sentence-similarity", SentenceSimilarityResult, body)

    def fill_mask(
        self,
        inputs: str,
        *,
        model: str | None = None,
        top_k: int | None = None,
        targets: Sequence[str] | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> FillMaskResult:
        """fill-mask: likely words for the one ``[MASK]`` (or ``<mask>``) in ``inputs``."""
        params = {"top_k": top_k, "targets": list(targets) if targets is not None else None}
        body = task_body(inputs, model, params, parameters)
        return self._task("fill-mask", FillMaskResult, body)

    def zero_shot_classification(
        self,
        inputs: str,
        candidate_labels: Sequence[str],
        *,
        model: str | None = None,
        multi_label: bool | None = None,
        hypothesis_template: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> ZeroShotClassificationResult:
        """zero-shot-classification: ``candidate_labels`` scored for ``inputs``, best first."""
        params = {
            "candidate_labels": list(candidate_labels),
            "multi_label": multi_label,
            "hypothesis_template": hypothesis_template,
        }
        body = task_body(inputs, model, params, parameters)
        return self._task("zero-shot-classification", ZeroShotClassificationResult, body)

    def text_to_image(
        self,
        prompt: str,
        *,
        model: str | None = None,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> TextToImageResult:
        """text-to-image: the PNG bytes in ``result.output``; ``result.image`` is a PIL
        image when Pillow is installed."""
        params = {
            "width": width,
            "height": height,
            "seed": seed,
            "negative_prompt": negative_prompt,
            "num_inference_steps": num_inference_steps,
            "guidance_scale": guidance_scale,
        }
        body = task_body(prompt, model, params, parameters)
        response = self._send("POST", "/hf/tasks/text-to-image", body=body)
        media_type = response.headers.get("content-type", "").split(";")[0]
        if not media_type.startswith("image/"):
            raise APIResponseValidationError(
                f"expected an image, got {media_type or 'no content type'}",
                status_code=response.status_code,
                request_id=inference_id(response) or None,
            )
        return TextToImageResult(
            output=response.content, media_type=media_type, inference_id=inference_id(response)
        )

    def run_task(
        self,
        task: str,
        inputs: Any,
        *,
        model: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> TaskRunResult:
        """``POST /hf/tasks/run``: any task by name, answer untyped (JSON, or image bytes)."""
        body = {"task": task, **task_body(inputs, model, {}, parameters)}
        response = self._send("POST", "/hf/tasks/run", body=body)
        media_type = response.headers.get("content-type", "").split(";")[0]
        output = response.content if media_type.startswith("image/") else read_json(response)
        return TaskRunResult(
            task=task, output=output, media_type=media_type, inference_id=inference_id(response)
        )

    # -- model registry ----------------------------------------------------------------

    def list_models(
        self, task_type: str | None = None, *, status: ModelStatus | None = None
    ) -> ModelList:
        """``GET /hf/tasks/models``: the registry's models, optionally of one task and
        status. The result is a read-only list (``len(models)``)."""
        response = self._send(
            "GET", "/hf/tasks/models", params={"task_type": task_type, "status": status}
        )
        return build(ModelList, read_json(response), response)

    def map_model(
        self,
        provider_model_id: str,
        hub_model_id: str,
        task_type: str,
        *,
        routes: Sequence[RouteSpec],
        status: ModelStatus | None = None,
        pricing: Mapping[str, Any] | None = None,
        context_length: int | None = None,
        tasks: Sequence[str] | None = None,
        adapter_type: Literal["lora"] | None = None,
        base_model: str | None = None,
    ) -> ModelMapping:
        """``POST /hf/tasks/models/map`` (admin keys): register or replace a mapping.
        ``pricing`` values are decimal strings (or ``Decimal``), e.g.
        ``{"input_per_million_usd": "0.50"}``. A new mapping starts in ``staging``."""
        body = clean(
            {
                "provider_model_id": provider_model_id,
                "hub_model_id": hub_model_id,
                "task_type": task_type,
                "routes": [dict(r) for r in routes],
                "status": status,
                "pricing": clean(pricing) if pricing is not None else None,
                "context_length": context_length,
                "tasks": list(tasks) if tasks is not None else None,
                "adapter_type": adapter_type,
                "base_model": base_model,
            }
        )
        response = self._send("POST", "/hf/tasks/models/map", body=body)
        data = read_json(response)
        if isinstance(data, dict):
            data = {**data, "created": response.status_code == 201}
        return build(ModelMapping, data, response)

    def set_model_status(
        self, model_id: str, status: ModelStatus, *, force: bool = False
    ) -> RegistryModel:
        """``PUT /hf/tasks/models/{id}/status`` (admin keys): staging <-> live. Going live
        needs a current passing ``gatewayz hf check`` of the model (else ``ConflictError``),
        unless ``force`` (audited as forced)."""
        path = f"/hf/tasks/models/{quote(model_id, safe='/')}/status"
        body: dict[str, Any] = {"status": status, **({"force": True} if force else {})}
        return self._call("PUT", path, RegistryModel, body=body)

    def unmap_model(self, model_id: str) -> UnmappedModel:
        """``DELETE /hf/tasks/models/{id}`` (admin keys): remove a mapping."""
        path = f"/hf/tasks/models/{quote(model_id, safe='/')}"
        return self._call("DELETE", path, UnmappedModel)

    # -- billing -----------------------------------------------------------------------

    def calculate_cost(self, requests: Sequence[CostItem]) -> CostQuote:
        """``POST /hf/tasks/billing/cost``: what requests with this usage cost, in integer
        nano-USD (``total_cost_nano_usd``) and exact USD (``total_cost_usd``)."""
        body = {"requests": [dict(r) for r in requests]}
        return self._call("POST", "/hf/tasks/billing/cost", CostQuote, body=body)

    def get_usage(
        self,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        model: str | None = None,
        task: str | None = None,
        api_key_id: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> UsagePage:
        """``GET /hf/tasks/billing/usage``: one page of the caller's usage records (admin
        keys: every key's, or ``api_key_id``'s) with totals over the whole filter. A time
        without an offset is UTC."""
        params = {
            "start": time_param(start),
            "end": time_param(end),
            "model": model,
            "task": task,
            "api_key_id": api_key_id,
            "cursor": cursor,
            "limit": limit,
        }
        return self._call("GET", "/hf/tasks/billing/usage", UsagePage, params=params)

    def iter_usage(
        self,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        model: str | None = None,
        task: str | None = None,
        api_key_id: int | None = None,
        page_size: int | None = None,
    ) -> Iterator[UsageRecord]:
        """Every usage record ``get_usage`` would page through, fetching pages as needed."""
        cursor: str | None = None
        while True:
            page = self.get_usage(
                start=start,
                end=end,
                model=model,
                task=task,
                api_key_id=api_key_id,
                cursor=cursor,
                limit=page_size,
            )
            for record in page.data:
                yield record
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_request_costs(self, request_ids: Sequence[str]) -> RequestCosts:
        """``POST /v1/billing/requests`` (admin or partner keys), the lookup Hugging Face's
        router makes: the cost of each known request id (``Inference-Id``) in nano-USD."""
        body = {"requestIds": list(request_ids)}
        return self._call("POST", "/v1/billing/requests", RequestCosts, body=body)

    def get_balance(self) -> Balance:
        """``GET /v1/billing/balance``: this key's prepaid credit, if it has a limit."""
        return self._call("GET", "/v1/billing/balance", Balance)
